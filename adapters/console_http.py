"""The console's HTTP answers, shared by every console module: pages filled from
templates (values escaped), JSON replies and errors, and reading a JSON object body."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "web_static"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
    404: web.HTTPNotFound, 409: web.HTTPConflict}


def template(name: str, /, raw: dict[str, str] | None = None, **values: str) -> str:
    """Fill `{{key}}` with escaped values; `raw` only for HTML built from escaped parts."""
    text = (STATIC / name).read_text(encoding="utf-8")
    for key, value in (raw or {}).items():
        text = text.replace("{{{" + key + "}}}", value)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return text


def html_page(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", charset="utf-8", headers=HEADERS)


def json_reply(data: Any) -> web.Response:
    return web.json_response(data, headers={"Cache-Control": "no-store",
                                            "X-Content-Type-Options": "nosniff"})


def json_error(status: int, message: str) -> web.HTTPException:
    body = json.dumps({"error": message}, ensure_ascii=False)
    return ERRORS[status](text=body, content_type="application/json")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body ({} when there is none); 400 for anything else."""
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise json_error(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise json_error(400, "the body must be a JSON object")
    return data
