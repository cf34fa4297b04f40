"""Fetching what a customer sent before the turn that answers it.

The adapter keeps the event in the inbox with a `pending` attachment (the platform's
reference only) and answers the webhook at once. The conversation's worker, in order,
fetches the bytes through the channel's adapter, checks and keeps them (bot/files.py) and
hands the engine an `Incoming` whose attachment is `stored` or `refused`. The inbox row
stays pending until the turn is stored, so a crash mid-fetch fetches again on restart
(the file is content-addressed: kept once). A platform that fails for a while is tried
`TRIES` times; then the file counts as unavailable and the customer is asked to send it
again, so one slow download never holds a conversation up for long.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Protocol

from adapters.base import ContentGone, ContentTooBig, DeliveryError
from bot.config import Settings
from bot.files import MB, FileStore, Limits, keep, refused
from bot.types import Attachment, Incoming

log = logging.getLogger(__name__)

TRIES = 3
WAIT = 1.0          # seconds before the second try, doubled after


class ContentSource(Protocol):
    async def content(self, attachment: Attachment, limit: int) -> bytes: ...


class Fetcher:
    def __init__(self, files: FileStore, limits: Limits,
                 sources: dict[str, ContentSource], wait: float = WAIT) -> None:
        self.files, self.limits, self.sources, self.wait = files, limits, sources, wait

    async def __call__(self, incoming: Incoming) -> Incoming:
        """`incoming` with its attachment resolved (never raises)."""
        found = incoming.attachment
        if found is None or found.status != "pending":
            return incoming
        try:
            resolved = await self._resolve(incoming.channel, found)
        except Exception:
            log.exception("%s: keeping a %s failed", incoming.channel, found.kind)
            resolved = refused(found, "unavailable")
        if resolved.status == "refused":
            log.info("%s: a %s was not kept (%s)", incoming.channel, found.kind, resolved.reason)
        return replace(incoming, attachment=resolved)

    async def _resolve(self, channel: str, found: Attachment) -> Attachment:
        source = self.sources.get(channel)
        if source is None:
            return refused(found, "unavailable")
        limit = self.limits.for_kind(found.kind)
        wait = self.wait
        for attempt in range(1, TRIES + 1):
            try:
                data = await source.content(found, limit)
            except ContentTooBig:
                return refused(found, "too_big", limits=self.limits)
            except ContentGone:
                return refused(found, "expired")
            except DeliveryError as exc:
                log.warning("%s: fetching a %s failed (try %d of %d): %s", channel, found.kind,
                            attempt, TRIES, exc)
                if attempt < TRIES:
                    await asyncio.sleep(wait)
                    wait *= 2
                continue
            return await asyncio.to_thread(keep, self.files, found, data, self.limits)
        return refused(found, "unavailable")


def limits(settings: Settings) -> Limits:
    return Limits(image=int(settings.image_max_mb * MB), other=int(settings.file_max_mb * MB))


def fetcher(settings: Settings, sources: dict[str, ContentSource | None]) -> Fetcher:
    """The fetcher `heard serve` uses: files under `HEARD_FILES`, the settings' limits,
    the channels that are on."""
    return Fetcher(FileStore(settings.files_path), limits(settings),
                   {name: source for name, source in sources.items() if source is not None})


def content_channels(settings: Settings) -> dict[str, Any]:
    """The channel adapters a process without webhooks (the turn worker) fetches with;
    `start()` them in its loop and `close()` them at the end."""
    found: dict[str, Any] = {}
    if settings.line_enabled:
        from adapters.line import LineChannel

        found["line"] = LineChannel(settings.line_secret, settings.line_token,
                                    settings.line_api_host, data_host=settings.line_data_host)
    if settings.telegram_enabled:
        from adapters.telegram import TelegramChannel

        found["telegram"] = TelegramChannel(settings.telegram_token, settings.telegram_secret,
                                            settings.telegram_api_url)
    return found
