"""The web chat: a page at `/`, its assets, and a small JSON API the page talks to.

The visitor keeps a random id in the browser, so a reload continues the same
conversation. Messages are kept in the store like every channel's; the page reads the
transcript, so "sending" to the web channel is marking the message delivered. Everything a
visitor typed is rendered with `textContent` by the page: it is never HTML.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.base import Checkpoint, OutboxMessage
from bot.types import Incoming, Profile
from storage.store import Store
from storage.writer import Writer

CHANNEL = "web"
STATIC = Path(__file__).resolve().parent / "web_static"
VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 5000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors *; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                 ".svg": "image/svg+xml"}

Accept = Callable[[list[Incoming]], Awaitable[list[Incoming]]]
Settle = Callable[[str], Awaitable[None]]


class WebChannel:
    channel = CHANNEL
    max_batch = 100

    async def send(self, messages: list[OutboxMessage], now: datetime,
                   checkpoint: Checkpoint) -> None:
        """The page reads the transcript from the store: nothing to push."""


def routes(writer: Writer, accept: Accept, settle: Settle,
           clock: Callable[[], datetime]) -> list[web.RouteDef]:
    async def page(request: web.Request) -> web.StreamResponse:
        return _file("index.html")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not re.fullmatch(r"[a-z0-9_-]+\.(js|css|svg)", name) or not (STATIC / name).is_file():
            raise web.HTTPNotFound()
        return _file(name)

    async def transcript(request: web.Request) -> web.Response:
        visitor = _visitor(request.query.get("visitor"))
        after = _int(request.query.get("after"))
        return web.json_response(await writer.read(lambda s: _state(s, visitor, after)))

    async def post(request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text="the body is not JSON") from exc
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        visitor = _visitor(data.get("visitor"))
        text = data.get("text") or ""
        payload = data.get("payload")
        if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
            raise web.HTTPBadRequest(text="text and payload must be strings")
        if len(text) > MAX_TEXT:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_TEXT, actual_size=len(text),
                                                text=f"messages are limited to {MAX_TEXT} characters")
        message_id = data.get("id") or uuid.uuid4().hex
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            raise web.HTTPBadRequest(text="id must be 1-64 letters, digits, - or _")
        language = (data.get("language") or "")[:16] or None
        incoming = Incoming(channel=CHANNEL, user_id=visitor, event_id=f"{visitor}:{message_id}",
                            received_at=clock(), text=text, payload=payload or None,
                            profile=Profile(language_code=language))
        await accept([incoming])
        await settle(incoming.conversation_key)
        after = _int(data.get("after"))
        return web.json_response(await writer.read(lambda s: _state(s, visitor, after)))

    return [
        web.get("/", page),
        web.get("/static/{name}", static),
        web.get("/chat/api/messages", transcript),
        web.post("/chat/api/messages", post),
    ]


def _file(name: str) -> web.StreamResponse:
    path = STATIC / name
    response = web.Response(body=path.read_bytes(),
                            content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                            charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _visitor(value: Any) -> str:
    if not isinstance(value, str) or not VISITOR.match(value):
        raise web.HTTPBadRequest(text="visitor must be 8-64 letters, digits, - or _")
    return value


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _state(store: Store, visitor: str, after: int) -> dict[str, Any]:
    key = f"{CHANNEL}:{visitor}"
    case = store.latest_case(key)
    messages = [
        {"id": m["id"], "from": "customer" if m["direction"] == "in" else "bot",
         "text": m["text"] or "", "buttons": m["buttons"] if m["direction"] == "out" else [],
         "pressed": m["payload"] if m["direction"] == "in" else None, "at": m["at"],
         "case": m["case_number"]}
        for m in store.conversation_messages(key, after)
    ]
    return {
        "messages": messages,
        "case": {"number": case.number, "stage": case.stage} if case else None,
    }
