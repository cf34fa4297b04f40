"""The console's search and labels API: finding cases (`storage.search`) and the labels
agents can put on them (the dialog's list, then the free labels in use).

    GET /console/api/search?q=退款&limit=20   -> [{number, customer, snippet, …}]
    GET /console/api/labels                  -> {"labels": [{id, name, names, colour}]}

Adding and removing a label is an action like the others
(POST /console/api/cases/{number}/label with {"label": "…"}, and …/unlabel).
Signed-in agents only, with the session's CSRF header, like every console API call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from adapters.console_http import json_error, json_reply
from adapters.console_view import summary
from dialogs.model import Dialog
from storage.search import MAX_LIMIT, SearchError, SearchHit
from storage.writer import Writer


class _Console(Protocol):
    writer: Writer

    def dialog(self) -> Dialog: ...
    def _agent(self, request: web.Request) -> Awaitable[dict[str, Any]]: ...


def find_routes(console: _Console) -> list[web.RouteDef]:
    return [web.get("/console/api/search", _search(console)),
            web.get("/console/api/labels", _labels(console))]


def _search(console: _Console) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def search(request: web.Request) -> web.Response:
        await console._agent(request)
        query = request.query.get("q", "")
        try:
            limit = min(int(request.query.get("limit", "20")), MAX_LIMIT)
        except ValueError:
            raise json_error(400, "limit is a number, e.g. 20") from None
        try:
            hits = await console.writer.read(lambda s: s.search_cases(query, limit))
        except SearchError as exc:
            raise json_error(400, str(exc)) from exc
        return json_reply([hit_json(h) for h in hits])
    return search


def hit_json(hit: SearchHit) -> dict[str, Any]:
    return {**summary(hit.case), "received_at": hit.case.received_at.isoformat(),
            "field": hit.field, "who": hit.who, "snippet": hit.snippet}


def _labels(console: _Console) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def labels(request: web.Request) -> web.Response:
        await console._agent(request)
        dialog = console.dialog()
        in_use = await console.writer.read(lambda s: s.labels_in_use())
        return json_reply({"labels": label_list(dialog, in_use)})
    return labels


def label_list(dialog: Dialog, in_use: dict[str, int]) -> list[dict[str, Any]]:
    """The dialog's labels in file order, then free labels in use (most used first)."""
    out = [{"id": label.id, "name": label.name.get(dialog.default_locale),
            "names": dict(label.name.values), "colour": label.colour,
            "cases": in_use.get(label.id, 0), "free": False}
           for label in dialog.labels.values()]
    out += [{"id": name, "name": name, "names": {}, "colour": None, "cases": n, "free": True}
            for name, n in in_use.items() if name not in dialog.labels]
    return out

