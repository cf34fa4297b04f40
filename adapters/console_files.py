"""The console's view of photos and files: each case message carries its attachments, and
`/console/files/{id}` serves a kept file to signed-in agents only.

An `<img>` cannot send the CSRF header, so the route is a plain GET checked by the session
cookie (SameSite=Strict: never sent from another site) and changes nothing. What is served
can never run: an image goes out as the type its bytes were checked to be (and were
re-encoded as), anything else as `application/octet-stream` with `Content-Disposition:
attachment`; always with `nosniff`, a CSP that allows nothing (`sandbox`) and
`Cross-Origin-Resource-Policy: same-origin`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.files import FileStore
from storage.store import Store
from storage.writer import Writer

SHOWN_INLINE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, max-age=3600",
}
Session = Callable[[web.Request], Awaitable[dict[str, Any] | None]]


def file_url(attachment_id: int) -> str:
    return f"/console/files/{attachment_id}"


def with_attachments(store: Store, number: str) -> list[dict[str, Any]]:
    """The case's messages, each with the photos and files that came with it."""
    messages = store.messages(number)
    by_message: dict[int, list[dict[str, Any]]] = {}
    for row in store.case_attachments(number):
        by_message.setdefault(int(row["message_id"]), []).append({
            "id": row["id"], "kind": row["kind"], "name": row["name"], "size": row["size"],
            "mime": row["mime"], "status": row["status"], "reason": row["reason"],
            "url": file_url(row["id"]) if row["status"] == "stored" else None,
        })
    for message in messages:
        message["attachments"] = by_message.get(int(message["id"]), [])
    return messages


def routes(writer: Writer, session: Session, files: FileStore | None) -> list[web.RouteDef]:
    async def serve(request: web.Request) -> web.StreamResponse:
        if await session(request) is None:
            raise web.HTTPUnauthorized(text="sign in first")
        if files is None or not re.fullmatch(r"\d{1,12}", request.match_info["id"]):
            raise web.HTTPNotFound()
        attachment_id = int(request.match_info["id"])
        row = await writer.read(lambda s: s.attachment(attachment_id))
        if row is None or row["status"] != "stored" or not row["sha256"]:
            raise web.HTTPNotFound()
        try:
            body = await asyncio.to_thread(files.read, row["sha256"])
        except (OSError, ValueError) as exc:
            raise web.HTTPNotFound() from exc
        return web.Response(body=body, headers={**FILE_HEADERS, **_type_headers(row)})

    return [web.get("/console/files/{id}", serve)]


def _type_headers(row: dict[str, Any]) -> dict[str, str]:
    mime = row["mime"] or ""
    if mime in SHOWN_INLINE:
        return {"Content-Type": mime}
    name = row["name"] or f"file-{row['id']}"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "file"
    return {"Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                   f"filename*=UTF-8''{quote(name[:100], safe='')}"}
