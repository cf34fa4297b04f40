"""Helpers for channel tests: a running `HeardServer` beside the stub platforms, and real
webhook bodies (from the shared fixtures) signed as the platforms sign them."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.server import HeardServer
from dialogs.loader import DialogHolder, default_dialog_path
from tests.stubs import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN, LineStub, TelegramStub

FIXTURES = Path(__file__).resolve().parent / "data"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sign(body: bytes, secret: str = LINE_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_event(kind: str, user: str, event_id: str, *, text: str | None = None,
               data: str | None = None, token: str | None = None,
               mode: str = "active") -> dict[str, Any]:
    """A LINE event built from the real fixtures, with our user, id and content."""
    if kind == "text":
        event = copy.deepcopy(fixture("line/text_message.json")["events"][0])
        event["message"]["text"] = text or ""
        event["message"]["id"] = event_id[-8:]
    elif kind == "postback":
        event = copy.deepcopy(fixture("line/postback.json")["events"][0])
        event["postback"] = {"data": data or ""}
    else:
        event = copy.deepcopy(fixture(f"line/{kind}.json")["events"][0])
    event["source"] = {"type": "user", "userId": user}
    event["webhookEventId"] = event_id
    event["mode"] = mode
    if "replyToken" in event or token:
        event["replyToken"] = token or f"token-{event_id}"
    return event


def line_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)},
                      ensure_ascii=False).encode()


def telegram_text(update_id: int, chat: int, text: str) -> dict[str, Any]:
    update = copy.deepcopy(fixture("telegram/text_message.json"))
    update["update_id"] = update_id
    update["message"]["text"] = text
    update["message"]["chat"]["id"] = chat
    update["message"]["from"]["id"] = chat
    update["message"]["message_id"] = update_id
    return update


def telegram_press(update_id: int, chat: int, data: str) -> dict[str, Any]:
    update = copy.deepcopy(fixture("telegram/callback_query.json"))
    update["update_id"] = update_id
    update["callback_query"]["id"] = f"cb{update_id}"
    update["callback_query"]["data"] = data
    update["callback_query"]["from"]["id"] = chat
    update["callback_query"]["message"]["chat"]["id"] = chat
    return update


class Served:
    def __init__(self, server: HeardServer, url: str, line: LineStub, telegram: TelegramStub,
                 http: aiohttp.ClientSession) -> None:
        self.server, self.url, self.line, self.telegram, self.http = (
            server, url, line, telegram, http)

    async def post_line(self, body: bytes, signature: str | None = None) -> aiohttp.ClientResponse:
        headers = {"Content-Type": "application/json",
                   "X-Line-Signature": sign(body) if signature is None else signature}
        with contextlib.suppress(ValueError, AttributeError):
            self.line.issue_tokens(body)    # LINE issues a reply token with each event
        async with self.http.post(f"{self.url}/webhooks/line", data=body, headers=headers) as r:
            await r.read()
            return r

    async def post_telegram(self, update: dict[str, Any] | bytes,
                            secret: str = TELEGRAM_SECRET) -> aiohttp.ClientResponse:
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": secret}
        async with self.http.post(f"{self.url}/webhooks/telegram", data=body,
                                  headers=headers) as r:
            await r.read()
            return r

    async def settle(self) -> None:
        """Every accepted event processed and every due message sent."""
        await self.server.dispatcher.drain()
        await self.server.delivery.send_due()

    async def read(self, fn: Any) -> Any:
        return await self.server.writer.read(fn)


def settings_for(db: Path, line: LineStub | None, telegram: TelegramStub | None,
                 **extra: Any) -> Settings:
    return Settings(
        db_path=db, dialog_path=default_dialog_path(), log_level="INFO", port=0,
        line_secret=LINE_SECRET if line else "", line_token=LINE_TOKEN if line else "",
        line_api_host=line.url if line else "", line_data_host=line.url if line else "",
        telegram_token=TELEGRAM_TOKEN if telegram else "",
        telegram_secret=TELEGRAM_SECRET if telegram else "",
        telegram_api_url=telegram.base_url if telegram else "", **extra)


class Clock:
    """A clock tests move by hand (the server reads it for every turn and timer)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def serving(db: Path, *, telegram_polling: bool = False, clock: Clock | None = None,
                  dialog: Path | None = None, background: bool = False,
                  **extra: Any) -> AsyncIterator[Served]:
    clock = clock or Clock()
    line, telegram = LineStub(clock=clock), TelegramStub()
    await line.start()
    await telegram.start()
    server = HeardServer(settings_for(db, line, telegram, **extra),
                         DialogHolder(dialog or default_dialog_path()), background=background,
                         telegram_polling=telegram_polling, clock=clock)
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    http = aiohttp.ClientSession()
    try:
        yield Served(server, f"http://127.0.0.1:{port}", line, telegram, http)
    finally:
        await http.close()
        await runner.cleanup()
        await line.stop()
        await telegram.stop()
