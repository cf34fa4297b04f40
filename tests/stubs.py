"""Local stand-ins for the LINE Messaging API and the Telegram Bot API, on 127.0.0.1.

The real SDKs talk to them (LINE `Configuration(host=...)`, Telegram `Bot(base_url=...)`).
They record what was sent and fail on demand, and they behave like the platforms where it
matters: a LINE reply token works once and only for about a minute after LINE issued it
(400 "Invalid reply token" otherwise), and a LINE push retried with the same
`X-Line-Retry-Key` after it was accepted gets 409.

Faults: `fail(endpoint, status, times)` for the next few calls; `outage(status)` for every
call until `recover()`; the status "timeout" holds the request longer than the client
waits and then drops it without delivering; `delay` answers every call late (after
delivering), which leaves a message in flight when the sender dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

LINE_SECRET = "line-channel-secret-for-tests"
LINE_TOKEN = "line-access-token-for-tests"
TELEGRAM_TOKEN = "123456:telegram-token-for-tests"
TELEGRAM_SECRET = "telegram-secret-token-for-tests"
TIMEOUT = "timeout"
INVALID_TOKEN = {"message": "Invalid reply token"}


@dataclass
class Failure:
    status: int | str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Stub:
    endpoints: tuple[str, ...] = ()    # what an outage takes down

    def __init__(self) -> None:
        self.failures: dict[str, deque[Failure]] = {}
        self.outages: dict[str, Failure] = {}
        self.hang = 30.0          # how long a "timeout" holds a request
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.changed = asyncio.Event()

    def fail(self, endpoint: str, status: int | str, times: int = 1,
             headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> None:
        """The next `times` calls to `endpoint` answer `status` (or time out: "timeout")."""
        queue = self.failures.setdefault(endpoint, deque())
        for _ in range(times):
            queue.append(Failure(status, body or {"message": f"stub says {status}"},
                                 headers or {}))

    def outage(self, status: int | str, endpoints: Iterable[str] = (),
               headers: dict[str, str] | None = None) -> None:
        """Every call to `endpoints` (default: all) fails like this until `recover()`."""
        for endpoint in endpoints or self.endpoints:
            self.outages[endpoint] = Failure(status, {"message": f"stub outage: {status}"},
                                             headers or {})

    def recover(self) -> None:
        self.outages.clear()

    def _failure(self, endpoint: str) -> Failure | None:
        queue = self.failures.get(endpoint)
        if queue:
            return queue.popleft()
        return self.outages.get(endpoint)

    async def _hang(self) -> None:
        """A request LINE never acts on: held past the client's timeout, then dropped."""
        await asyncio.sleep(self.hang)

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
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
    """POST /v2/bot/message/reply and /v2/bot/message/push, as LINE answers them.

    A reply token is good once, for `token_ttl` seconds after LINE issued it: the tests
    tell the stub when it "sent" a webhook (`issue_tokens(body)`), as LINE issues a token
    with each event it sends. `clock` is the stub's idea of now (a test's virtual clock,
    or real time)."""

    endpoints = ("reply", "push", "content")

    def __init__(self, token_ttl: float = 60.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.token_ttl = token_ttl
        self.clock = clock
        self.delay = 0.0
        self.replies: list[dict[str, Any]] = []
        self.pushes: list[dict[str, Any]] = []
        self.issued: dict[str, tuple[str, float]] = {}    # token -> (user id, issued at)
        self.used_tokens: set[str] = set()
        self.retry_keys: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.received: list[tuple[str, str]] = []         # (user id, text) as delivered
        self.contents: dict[str, bytes] = {}   # message id -> what the customer sent
        self.fetched: list[str] = []           # message ids whose content was asked for

    @property
    def texts(self) -> list[str]:
        return [m["text"] for call in self.replies + self.pushes for m in call["messages"]]

    def now(self) -> float:
        return self.clock().timestamp() if self.clock is not None else time.time()

    def issue_tokens(self, body: bytes) -> None:
        """LINE sends this webhook body: its reply tokens start their minute now (a
        redelivered event keeps the token and the minute it had)."""
        for event in json.loads(body).get("events", []):
            if not isinstance(event, dict):         # LINE only issues tokens to real events
                continue
            source = event.get("source")
            token = event.get("replyToken")
            user = source.get("userId") if isinstance(source, dict) else None
            if token and user:
                self.issued.setdefault(token, (user, self.now()))

    def token_problem(self, token: str) -> str | None:
        issued = self.issued.get(token)
        if issued is None:
            return "never issued"
        if token in self.used_tokens:
            return "used"
        if self.now() - issued[1] > self.token_ttl:
            return "expired"
        return None

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/v2/bot/message/reply", self.reply),
                        web.post("/v2/bot/message/push", self.push),
                        # served by api-data.line.me: the SDK's blob client has its own host
                        web.get("/v2/bot/message/{id}/content", self.content)])
        return app

    async def content(self, request: web.Request) -> web.StreamResponse:
        """A media message's bytes while LINE keeps them; 404 once they are gone."""
        self._auth(request)
        message_id = request.match_info["id"]
        self.fetched.append(message_id)
        failure = self._failure("content")
        if failure:
            return await self._failed(failure)
        data = self.contents.get(message_id)
        if data is None:
            return web.json_response({"message": "Not found"}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {LINE_TOKEN}":
            raise web.HTTPUnauthorized(text='{"message":"Authentication failed"}')

    async def _failed(self, failure: Failure) -> web.Response:
        if failure.status == TIMEOUT:
            await self._hang()
            return web.json_response({"message": "too late"}, status=504)
        return web.json_response(failure.body, status=int(failure.status),
                                 headers=failure.headers)

    async def reply(self, request: web.Request) -> web.Response:
        self._auth(request)
        body = await request.json()
        self.calls.append(("reply", body, dict(request.headers)))
        failure = self._failure("reply")
        try:
            if failure:
                return await self._failed(failure)
            token = body["replyToken"]
            if self.token_problem(token) is not None:
                return web.json_response(INVALID_TOKEN, status=400)
            self.used_tokens.add(token)
            self.replies.append(body)
            self._deliver(self.issued[token][0], body)
            if self.delay:
                await asyncio.sleep(self.delay)
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
                return await self._failed(failure)
            if key and key in self.retry_keys:
                return web.json_response({"message": "The retry key is already accepted"},
                                         status=409)
            if key:
                self.retry_keys.add(key)
            self.pushes.append(body)
            self._deliver(body["to"], body)
            if self.delay:
                await asyncio.sleep(self.delay)
            return web.json_response({"sentMessages": [{"id": str(len(self.pushes))}]})
        finally:
            self._changed()

    def _deliver(self, user: str, body: dict[str, Any]) -> None:
        self.received.extend((user, m["text"]) for m in body["messages"])


class TelegramStub(Stub):
    """The Bot API methods Heard uses; JSON or form-encoded posts (PTB sends forms),
    answered {"ok": true, "result": ...}."""

    endpoints = ("sendMessage", "getFile")
    TOO_BIG = 20 * 1024 * 1024     # bots may download files up to 20 MB

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.answered: list[str] = []
        self.webhook: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}      # file_id -> the file's bytes
        self.downloads: list[str] = []         # file paths downloaded

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent]

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/bot{token}/{method}", self.method),
                        web.get("/file/bot{token}/{path:.+}", self.download)])
        return app

    async def download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        data = self.files.get(path.rsplit("/", 1)[-1])
        if data is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        name = request.match_info["method"]
        data = await _parameters(request)
        if name == "getUpdates" and not [u for u in self.updates
                                         if u["update_id"] >= int(data.get("offset") or 0)]:
            await asyncio.sleep(0.2)   # long polling: nothing new, wait a little
        failure = self._failure(name)
        try:
            if failure and failure.status == TIMEOUT:
                await self._hang()
                return web.json_response({"ok": False, "error_code": 504}, status=504)
            if failure:
                return web.json_response({"ok": False, "error_code": failure.status,
                                          **failure.body}, status=int(failure.status))
            if name == "getFile":
                return self._get_file(str(data.get("file_id")))
            return web.json_response({"ok": True, "result": self._result(name, data)})
        finally:
            self._changed()

    def _get_file(self, file_id: str) -> web.Response:
        """getFile as the Bot API answers it: a path to download, or 400."""
        data = self.files.get(file_id)
        if data is None:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: invalid file_id"}, status=400)
        if len(data) > self.TOO_BIG:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: file is too big"}, status=400)
        return web.json_response({"ok": True, "result": {
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data),
            "file_path": f"photos/{file_id}"}})

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


async def _parameters(request: web.Request) -> dict[str, Any]:
    """A Bot API call's parameters, as the Bot API reads them: a JSON object, or form
    fields whose objects are JSON-encoded."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        data = await request.json()
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="parameters must be a JSON object")
        return data
    return {k: _maybe_json(v) for k, v in (await request.post()).items()}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
