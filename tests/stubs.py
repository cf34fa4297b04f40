"""Local stand-ins for the LINE Messaging API and the Telegram Bot API, on 127.0.0.1.

The real SDKs talk to them (LINE `Configuration(host=...)`, Telegram `Bot(base_url=...)`).
They record what was sent and answer errors on demand (`fail(...)`), and they behave like
the platforms where it matters: LINE reply tokens work once, a LINE push retried with the
same `X-Line-Retry-Key` after it was accepted gets 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LINE_SECRET = "line-channel-secret-for-tests"
LINE_TOKEN = "line-access-token-for-tests"
TELEGRAM_TOKEN = "123456:telegram-token-for-tests"
TELEGRAM_SECRET = "telegram-secret-token-for-tests"


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Stub:
    def __init__(self) -> None:
        self.failures: dict[str, deque[Failure]] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.changed = asyncio.Event()

    def fail(self, endpoint: str, status: int, times: int = 1,
             headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> None:
        """The next `times` calls to `endpoint` answer `status`."""
        queue = self.failures.setdefault(endpoint, deque())
        for _ in range(times):
            queue.append(Failure(status, body or {"message": f"stub says {status}"},
                                 headers or {}))

    def _failure(self, endpoint: str) -> Failure | None:
        queue = self.failures.get(endpoint)
        return queue.popleft() if queue else None

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds (checked whenever a call arrives)."""
        async def loop() -> None:
            while not predicate():
                event = self.changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=0.2)
        await asyncio.wait_for(loop(), timeout=timeout)


class LineStub(Stub):
    """POST /v2/bot/message/reply and /v2/bot/message/push, as LINE answers them."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[dict[str, Any]] = []
        self.pushes: list[dict[str, Any]] = []
        self.used_tokens: set[str] = set()
        self.retry_keys: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    @property
    def texts(self) -> list[str]:
        return [m["text"] for call in self.replies + self.pushes for m in call["messages"]]

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/v2/bot/message/reply", self.reply),
                        web.post("/v2/bot/message/push", self.push)])
        return app

    def _auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {LINE_TOKEN}":
            raise web.HTTPUnauthorized(text='{"message":"Authentication failed"}')

    async def reply(self, request: web.Request) -> web.Response:
        self._auth(request)
        body = await request.json()
        self.calls.append(("reply", body, dict(request.headers)))
        failure = self._failure("reply")
        try:
            if failure:
                return web.json_response(failure.body, status=failure.status,
                                         headers=failure.headers)
            token = body["replyToken"]
            if token in self.used_tokens:
                return web.json_response({"message": "Invalid reply token"}, status=400)
            self.used_tokens.add(token)
            self.replies.append(body)
            return web.json_response({"sentMessages": [{"id": str(len(self.replies))}]})
        finally:
            self._changed()

    async def push(self, request: web.Request) -> web.Response:
        self._auth(request)
        body = await request.json()
        key = request.headers.get("X-Line-Retry-Key", "")
        self.calls.append(("push", body, dict(request.headers)))
        failure = self._failure("push")
        try:
            if failure:
                return web.json_response(failure.body, status=failure.status,
                                         headers=failure.headers)
            if key and key in self.retry_keys:
                return web.json_response({"message": "The retry key is already accepted"},
                                         status=409)
            if key:
                self.retry_keys.add(key)
            self.pushes.append(body)
            return web.json_response({"sentMessages": [{"id": str(len(self.pushes))}]})
        finally:
            self._changed()


class TelegramStub(Stub):
    """The Bot API methods Heard uses; form-encoded posts, {"ok": true, "result": ...}."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.answered: list[str] = []
        self.webhook: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent]

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/bot{token}/{method}", self.method)])
        return app

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        name = request.match_info["method"]
        form = dict(await request.post()) if request.can_read_body else {}
        data = {k: _maybe_json(v) for k, v in form.items()}
        if name == "getUpdates" and not [u for u in self.updates
                                         if u["update_id"] >= int(data.get("offset") or 0)]:
            await asyncio.sleep(0.2)   # long polling: nothing new, wait a little
        failure = self._failure(name)
        try:
            if failure:
                return web.json_response({"ok": False, "error_code": failure.status,
                                          **failure.body}, status=failure.status)
            return web.json_response({"ok": True, "result": self._result(name, data)})
        finally:
            self._changed()

    def _result(self, name: str, data: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Heard",
                    "username": "heard_test_bot", "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        if name == "sendMessage":
            self.sent.append(data)
            return {"message_id": len(self.sent), "date": 1700000000,
                    "chat": {"id": int(data["chat_id"]), "type": "private"},
                    "text": data.get("text", "")}
        if name == "answerCallbackQuery":
            self.answered.append(str(data.get("callback_query_id")))
            return True
        if name in ("setWebhook", "deleteWebhook"):
            self.webhook = data if name == "setWebhook" else {}
            return True
        if name == "getUpdates":
            offset = int(data.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        return True


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
