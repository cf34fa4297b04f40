"""What every channel adapter offers the delivery worker, and how failures are told apart.

An adapter turns platform events into `Incoming` (its webhook route) and outbox rows into
platform calls (`send`). It never decides anything about the conversation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from bot.types import Button, Incoming, Profile


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One row of the outbox, as an adapter sees it."""

    id: int
    conversation_key: str
    channel: str
    user_id: str
    text: str
    buttons: tuple[Button, ...]
    kind: str
    reply_token: str | None
    created_ts: float
    retry_key: str
    attempts: int
    case_number: str | None = None
    token_ts: float | None = None      # when the reply token arrived with its event
    reply_state: str | None = None     # what is known about the token: storage/outbox.py

    @property
    def token_in_doubt(self) -> bool:
        """An earlier reply with this token may have reached the customer (the process
        stopped mid-call): the token may be tried again, but nothing may replace it."""
        return self.reply_token is not None and self.reply_state in ("trying", "unknown")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxMessage:
        return cls(
            id=int(row["id"]), conversation_key=row["conversation_key"], channel=row["channel"],
            user_id=row["user_id"], text=row["text"] or "",
            buttons=tuple(Button(b["label"], b["payload"]) for b in row["buttons"] or []),
            kind=row["kind"] or "reply", reply_token=row["reply_token"],
            created_ts=float(row["created_ts"] or 0), retry_key=row["retry_key"] or str(row["id"]),
            attempts=int(row["attempts"] or 0), case_number=row.get("case_number"),
            token_ts=float(row["token_ts"] if row.get("token_ts") is not None
                           else row["created_ts"] or 0),
            reply_state=row.get("reply_state"),
        )


class DeliveryError(Exception):
    """A message could not be delivered now."""


class TemporaryFailure(DeliveryError):
    """5xx, timeouts, 429: try again (after `retry_after` seconds when the platform says).
    `whole_channel`: the platform asked us to slow down everywhere, not for this chat."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 whole_channel: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.whole_channel = whole_channel


class ContentGone(Exception):
    """The platform no longer has (or never had) a file the customer sent."""


class ContentTooBig(Exception):
    """A file the customer sent is over the size Heard keeps (known before or while
    downloading it)."""


class CustomerBlocked(DeliveryError):
    """The customer blocked the bot (LINE unfollow, Telegram Forbidden): stop sending."""


class PermanentFailure(DeliveryError):
    """The platform refused the message for good (4xx): retrying cannot help."""


class Unconfirmed(DeliveryError):
    """Whether the customer got it cannot be known, and sending it again could say it
    twice (a reply token in doubt that the platform now refuses): a person decides."""


# Called by a sender right before each platform call, with how it is about to send
# ("reply", "push", "send"); returns once that is durably recorded.
Checkpoint = Callable[[str], Awaitable[None]]


class Sender(Protocol):
    """Sends a batch of consecutive outbox rows in one platform call, all or nothing.
    A sender may also have `joins(batch, message) -> bool`: whether `message` can go in
    the same call as `batch` (Telegram joins texts into one sendMessage only while they
    fit and no button would end up mid-message); without it, any `max_batch` rows can."""

    channel: str
    max_batch: int   # messages one call can carry atomically (LINE 5, Telegram 10)

    async def send(self, messages: list[OutboxMessage], now: datetime,
                   checkpoint: Checkpoint) -> None: ...


def can_join(sender: Sender, batch: list[OutboxMessage], message: OutboxMessage) -> bool:
    """`message` may be sent in the same call as `batch`, by this sender's rules."""
    rule = getattr(sender, "joins", None)
    return len(batch) < sender.max_batch and (rule is None or bool(rule(batch, message)))


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Cut a long text into parts of at most `limit` characters (or UTF-16 units), at a
    line break or space where one is near, never inside a character."""
    def size(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2 if utf16 else len(s)

    parts: list[str] = []
    rest = text
    while size(rest) > limit:
        cut = limit
        while size(rest[:cut]) > limit:
            cut -= 1
        window = rest[:cut]
        soft = max(window.rfind("\n"), window.rfind(" "), window.rfind("。"), window.rfind("，"))
        if soft >= cut // 2:
            cut = soft + 1
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Lone UTF-16 surrogates (JSON's "\\ud800") cannot be stored or sent as UTF-8: each
    becomes U+FFFD, the replacement character. Real characters are untouched."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def cleaned(incoming: Incoming) -> Incoming:
    """An `Incoming` whose every text field is safe to store (see `clean_text`)."""
    profile = incoming.profile
    return replace(
        incoming, user_id=clean_text(incoming.user_id), event_id=clean_text(incoming.event_id),
        text=clean_text(incoming.text),
        payload=clean_text(incoming.payload) if incoming.payload is not None else None,
        reply_token=clean_text(incoming.reply_token) if incoming.reply_token else None,
        profile=Profile(*(clean_text(v) if v else v
                          for v in (profile.display_name, profile.language_code))))


def https_proxy(url: str) -> str | None:
    """The proxy for calls to `url`: HTTPS_PROXY (or https_proxy) when `url` is https, else
    none. Adapters hand it to their HTTP clients explicitly rather than trusting the
    environment, which makes aiohttp look for a .netrc file in a thread on every request."""
    if not url.startswith("https:"):
        return None
    return os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
