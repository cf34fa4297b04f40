"""The web chat: a page at `/`, its assets, and a small JSON API the page talks to.

A visitor is known by a random secret in an HttpOnly cookie, which Heard sets on the first
message; the visitor id in the records is a digest of that secret. The id alone (seen in
the console, the store or a log) reads nothing: only the cookie does, and the id never
travels in a URL. A reload continues the same conversation. Messages are kept in the store
like every channel's; the page reads the transcript, so "sending" to the web channel is
marking the message delivered. Everything a visitor typed is rendered with `textContent` by
the page: it is never HTML. The page speaks the visitor's language (zh-TW, zh-CN or en) and
sends it with each message; the engine uses it when the text itself does not tell.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.base import Checkpoint, OutboxMessage, cleaned
from bot.payloads import MEDIA_PREFIX
from bot.types import Incoming, Profile
from storage.store import Store
from storage.writer import Writer

CHANNEL = "web"
STATIC = Path(__file__).resolve().parent / "web_static"
COOKIE = "heard_visitor"
COOKIE_DAYS = 90
SECRET = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 5000
LANGUAGES = {code.lower(): code for code in ("zh-TW", "zh-CN", "en")}   # the page's languages
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
        visitor = _visitor(request)
        if visitor is None:
            return web.json_response({"messages": [], "case": None})
        after = after_id(request.query.get("after"))
        return web.json_response(await writer.read(lambda s: _state(s, visitor, after)))

    async def post(request: web.Request) -> web.Response:
        if request.content_type != "application/json":   # no cross-site form posts
            raise web.HTTPUnsupportedMediaType(text="send JSON (Content-Type: application/json)")
        try:
            data = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text="the body is not JSON") from exc
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        secret, fresh = visitor_secret(request)
        visitor = visitor_id(secret)
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
        incoming = cleaned(Incoming(
            channel=CHANNEL, user_id=visitor, event_id=f"{visitor}:{message_id}",
            received_at=clock(), text=text, payload=payload or None,
            profile=Profile(language_code=language_hint(data.get("language")))))
        return await answer(request, writer, accept, settle, incoming, secret, fresh,
                            after_id(data.get("after")))

    async def restart(request: web.Request) -> web.Response:
        """"Start over": a new visitor; the old conversation stays in the records."""
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON (Content-Type: application/json)")
        response = web.json_response({"messages": [], "case": None})
        _set_cookie(request, response, secrets.token_urlsafe(32))
        return response

    return [
        web.get("/", page),
        web.get("/static/{name}", static),
        web.get("/chat/api/messages", transcript),
        web.post("/chat/api/messages", post),
        web.post("/chat/api/restart", restart),
    ]


def _file(name: str) -> web.StreamResponse:
    path = STATIC / name
    response = web.Response(body=path.read_bytes(),
                            content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                            charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


def language_hint(value: Any) -> str | None:
    """The page's language as the customer's language hint: one of the page's languages
    (any letter case), else no hint. Anything else is ignored, never an error."""
    return LANGUAGES.get(value.lower()) if isinstance(value, str) else None


def visitor_id(secret: str) -> str:
    """The visitor id kept in the records: a digest of the cookie's secret (one way)."""
    digest = hashlib.sha256(b"heard visitor:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def _visitor(request: web.Request) -> str | None:
    secret = request.cookies.get(COOKIE, "")
    return visitor_id(secret) if SECRET.match(secret) else None


def visitor_secret(request: web.Request) -> tuple[str, bool]:
    """The visitor's secret from their cookie, or a new one (`fresh`: the answer sets it)."""
    secret = request.cookies.get(COOKIE, "")
    if SECRET.match(secret):
        return secret, False
    return secrets.token_urlsafe(32), True


async def answer(request: web.Request, writer: Writer, accept: Accept, settle: Settle,
                 incoming: Incoming, secret: str, fresh: bool, after: int) -> web.Response:
    """Keep what the visitor sent, wait for its turn, and answer with the conversation
    after message `after` (setting the visitor's cookie when it is new)."""
    await accept([incoming])
    await settle(incoming.conversation_key)
    visitor = visitor_id(secret)
    response = web.json_response(await writer.read(lambda s: _state(s, visitor, after)))
    if fresh:
        _set_cookie(request, response, secret)
    return response


def _set_cookie(request: web.Request, response: web.Response, secret: str) -> None:
    """HttpOnly, never readable by scripts. Over HTTPS the chat may sit in an iframe on a
    shop's own site, so the cookie is SameSite=None; Secure; Partitioned (kept per shop);
    over plain HTTP (trying it out) SameSite=Lax."""
    https = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    where = "Secure; SameSite=None; Partitioned" if https else "SameSite=Lax"
    # written by hand: Python 3.11's http.cookies (behind aiohttp's set_cookie) does not
    # know `Partitioned`; the secret is URL-safe base64, nothing to quote
    response.headers.add("Set-Cookie", f"{COOKIE}={secret}; Path=/; "
                                       f"Max-Age={COOKIE_DAYS * 86400}; HttpOnly; {where}")


def after_id(value: Any) -> int:
    """The `after` message id a page sent (0 when missing or not a number)."""
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
         "case": m["case_number"], **_sent_file(m)}
        for m in store.conversation_messages(key, after)
    ]
    return {
        "messages": messages,
        "case": {"number": case.number, "stage": case.stage} if case else None,
    }


def _sent_file(message: dict[str, Any]) -> dict[str, Any]:
    """A photo or file the visitor sent: its kind (the page shows a word for it)."""
    payload = message["payload"] or ""
    if message["direction"] != "in" or not payload.startswith(MEDIA_PREFIX):
        return {}
    return {"file": payload[len(MEDIA_PREFIX):].split(":", 1)[0], "pressed": None}
