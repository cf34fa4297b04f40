"""The web chat's upload button: a photo or file posted as multipart, checked and kept
before the event enters the inbox (the bytes are here already: nothing to fetch later).

The same limits and checks as LINE and Telegram (bot/files.py). A form on another site
could post multipart, so an upload must carry the `X-Heard-Chat` header, which a cross-site
form cannot send and a cross-site script cannot either without a CORS preflight Heard never
grants. The file is read in pieces and the read stops one byte past the limit, so a huge
upload costs no memory; HEARD_MAX_BODY (for JSON) does not apply here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

from aiohttp import BodyPartReader, web

from adapters.base import clean_text, cleaned
from adapters.web import (
    CHANNEL,
    MESSAGE_ID,
    Accept,
    Settle,
    after_id,
    answer,
    language_hint,
    visitor_id,
    visitor_secret,
)
from bot.files import FileStore, Limits, keep, refused, sniff
from bot.payloads import MEDIA_PREFIX
from bot.types import Attachment, Incoming, Profile
from storage.writer import Writer

HEADER = "X-Heard-Chat"
CHUNK = 64 * 1024
NAME_LIMIT = 200
FIELD_LIMIT = 200           # bytes of a plain form field (id, language, after)


def routes(writer: Writer, accept: Accept, settle: Settle, clock: Callable[[], datetime],
           files: FileStore, limits: Limits) -> list[web.RouteDef]:
    async def upload(request: web.Request) -> web.Response:
        if request.headers.get(HEADER) != "1":
            raise web.HTTPForbidden(text=f"uploads come from the chat page ({HEADER} header)")
        if request.content_type != "multipart/form-data":
            raise web.HTTPUnsupportedMediaType(text="send the file as multipart/form-data")
        fields, attachment = await _read(request, files, limits)
        message_id = fields.get("id") or uuid.uuid4().hex
        if not MESSAGE_ID.match(message_id):
            raise web.HTTPBadRequest(text="id must be 1-64 letters, digits, - or _")
        secret, fresh = visitor_secret(request)
        visitor = visitor_id(secret)
        incoming = cleaned(Incoming(
            channel=CHANNEL, user_id=visitor, event_id=f"{visitor}:{message_id}",
            received_at=clock(), payload=f"{MEDIA_PREFIX}{attachment.kind}:{message_id}",
            attachment=attachment, profile=Profile(language_code=language_hint(fields.get("language")))))
        return await answer(request, writer, accept, settle, incoming, secret, fresh,
                            after_id(fields.get("after")))

    return [web.post("/chat/api/upload", upload)]


async def _read(request: web.Request, files: FileStore,
                limits: Limits) -> tuple[dict[str, str], Attachment]:
    """The form's small fields and the file, checked and kept (or refused)."""
    fields: dict[str, str] = {}
    attachment: Attachment | None = None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(text="nested multipart is not accepted")
        if part.name == "file" and attachment is None:
            attachment = await _file(part, files, limits)
        elif part.name in ("id", "language", "after"):
            value = await part.read(decode=False)
            if len(value) > FIELD_LIMIT:
                raise web.HTTPBadRequest(text=f"{part.name} is too long")
            fields[part.name] = value.decode("utf-8", "replace")
        else:
            await part.release()
    if attachment is None:
        raise web.HTTPBadRequest(text="no file in the form (field name: file)")
    return fields, attachment


async def _file(part: BodyPartReader, files: FileStore, limits: Limits) -> Attachment:
    name = clean_text(part.filename or "")[:NAME_LIMIT] or None
    ceiling = max(limits.image, limits.other)
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > ceiling:
            await part.release()
            break
    kind = _kind(bytes(data[:16]))
    found = Attachment(kind=kind, name=name)
    if len(data) > limits.for_kind(kind):
        return refused(found, "too_big", size=len(data), limits=limits)
    return await asyncio.to_thread(keep, files, found, bytes(data), limits)


def _kind(head: bytes) -> str:
    mime = sniff(head) or ""
    return "image" if mime.startswith("image/") else "video" if mime == "video/mp4" else "file"

