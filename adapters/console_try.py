""""Try it as a customer" on the console's dialog page (admins): a real turn on the live
dialog, kept in the sandbox file (bot/sandbox.py), never in the queue or the reports."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.console_http import json_error, json_object, json_reply
from bot.sandbox import notice, sandbox_path, sandbox_turn
from storage.store import Store

if TYPE_CHECKING:
    from adapters.console import Console

CUSTOMER = re.compile(r"[a-z0-9]{8,32}")
MAX_TEXT = 2000
LOCALES = ("zh-TW", "zh-CN", "en")


class TryIt:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._store: Store | None = None
        self._lock = threading.Lock()     # the sandbox store is used by one thread at a time

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/console/api/try", self.turn)]

    def _sandbox(self) -> Store:
        if self._store is None:
            self._store = Store.open(sandbox_path(self.console.writer.path))
        return self._store

    async def turn(self, request: web.Request) -> web.Response:
        await self.console._admin(request)
        data = await json_object(request)
        customer, text = str(data.get("customer", "")), str(data.get("text") or "")
        payload = data.get("payload")
        locale = data.get("locale") if data.get("locale") in LOCALES else None
        if not CUSTOMER.fullmatch(customer):
            raise json_error(400, "customer must be 8-32 lowercase letters or digits")
        if payload is not None and not isinstance(payload, str):
            raise json_error(400, "payload must be text")
        if not text.strip() and not payload:
            raise json_error(400, "say something or press a button")
        if len(text) > MAX_TEXT:
            raise json_error(400, f"at most {MAX_TEXT} characters")
        dialog, now = self.console.dialog(), self.console.clock()

        def run() -> dict[str, Any]:
            with self._lock:
                return sandbox_turn(self._sandbox(), dialog, f"try-{customer}", now,
                                    text=text, payload=payload, locale=locale)

        result = await asyncio.to_thread(run)
        return json_reply({**result, "notice": notice(locale)})
