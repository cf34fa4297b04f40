"""Telegram: webhook updates (checked by secret token) or long polling in, `sendMessage` out.

We own the web server; python-telegram-bot's `Bot` is only the API client. Every callback
query is answered, or the customer's button keeps spinning.
"""

from __future__ import annotations

import hmac
import logging
import os
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from adapters.base import (
    Checkpoint,
    CustomerBlocked,
    OutboxMessage,
    PermanentFailure,
    TemporaryFailure,
    cleaned,
    split_text,
)
from bot.payloads import FOLLOW
from bot.types import Incoming, Profile

log = logging.getLogger(__name__)
os.environ.setdefault("PTB_TIMEDELTA", "1")   # RetryAfter.retry_after as a timedelta

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64   # bytes


class TelegramChannel:
    channel = CHANNEL
    max_batch = 1   # one sendMessage per call: a batch could half-fail and resend

    def __init__(self, token: str, secret_token: str = "",
                 base_url: str = "https://api.telegram.org/bot") -> None:
        self.secret_token = secret_token
        self.bot = Bot(token, base_url=base_url)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

    # ------------------------------------------------------------ receiving

    def verify(self, header: str | None) -> bool:
        if not self.secret_token:
            return True
        return header is not None and hmac.compare_digest(header, self.secret_token)

    def events(self, data: dict[str, Any], now: datetime) -> tuple[list[Incoming], list[str]]:
        """An update as `Incoming` (or none), plus callback query ids to answer."""
        update = Update.de_json(data, self.bot)
        if update is None:
            return [], []
        event_id = str(update.update_id)
        query = update.callback_query
        if query is not None:
            chat = query.message.chat.id if query.message else query.from_user.id
            incoming = Incoming(channel=CHANNEL, user_id=str(chat), event_id=event_id,
                                received_at=now, payload=query.data or "",
                                profile=_profile(query.from_user))
            return [cleaned(incoming)], [query.id]
        message = update.message
        if message is None or message.text is None:
            log.info("telegram: update %s has no text or button, ignored", event_id)
            return [], []
        text = message.text
        command = text.split(maxsplit=1)[0].split("@")[0] if text.startswith("/") else ""
        fields: dict[str, Any] = {"payload": FOLLOW} if command == "/start" else {"text": text}
        return [cleaned(Incoming(channel=CHANNEL, user_id=str(message.chat.id), event_id=event_id,
                                 received_at=now, profile=_profile(message.from_user),
                                 **fields))], []

    async def answer_callbacks(self, ids: list[str]) -> None:
        for query_id in ids:
            try:
                await self.bot.answer_callback_query(query_id)
            except TelegramError as exc:
                log.warning("telegram: answering a button press failed: %s", exc)

    # ------------------------------------------------------------ sending

    async def send(self, messages: list[OutboxMessage], now: datetime,
                   checkpoint: Checkpoint) -> None:
        await checkpoint("send")
        for message in messages:
            parts = split_text(message.text or " ", TEXT_LIMIT)
            for i, part in enumerate(parts):
                markup = keyboard(message) if i == len(parts) - 1 and message.buttons else None
                try:
                    await self.bot.send_message(chat_id=int(message.user_id), text=part,
                                                reply_markup=markup)
                except RetryAfter as exc:
                    after = exc.retry_after
                    seconds = after.total_seconds() if hasattr(after, "total_seconds") else after
                    raise TemporaryFailure("Telegram flood limit", float(seconds)) from exc
                except Forbidden as exc:
                    raise CustomerBlocked(f"Telegram: {exc.message}") from exc
                except (TimedOut, NetworkError) as exc:
                    if isinstance(exc, BadRequest):
                        raise PermanentFailure(f"Telegram: {exc.message}") from exc
                    raise TemporaryFailure(f"Telegram: {type(exc).__name__}: {exc}") from exc
                except TelegramError as exc:
                    raise TemporaryFailure(f"Telegram: {exc}") from exc


def keyboard(message: OutboxMessage) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(b.label, callback_data=b.payload)]
            for b in message.buttons if len(b.payload.encode()) <= CALLBACK_DATA_LIMIT]
    return InlineKeyboardMarkup(rows)


def _profile(user: Any) -> Profile:
    if user is None:
        return Profile()
    name = " ".join(x for x in (user.first_name, user.last_name) if x) or None
    return Profile(display_name=name, language_code=user.language_code)
