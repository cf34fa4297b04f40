"""The console's daily tools beside the case actions: read markers (what each agent has
seen, so a customer's new words show as unread), the contact panel (who the customer is,
every case of theirs, notes on the customer) and the names the console shows.

Routes are added by `Console.routes()`; every call is signed in and CSRF-checked there
(`Console._agent`). Customer text leaves as JSON and is put on the page with textContent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.console_http import json_error, json_object, json_reply
from bot import agents
from bot.case import CaseState
from dialogs.console_words import console_names
from storage.store import Store

if TYPE_CHECKING:
    from adapters.console import Console


def queue_facts(store: Store, cases: list[CaseState], username: str) -> dict[str, dict[str, Any]]:
    """Per case in the queue: unread customer messages for this agent (counted only on a
    case that is theirs or nobody's), the last message and since when the customer waits."""
    facts = store.queue_facts(username, [c.number for c in cases])
    mine = agents.owner_of(username)
    for case in cases:
        if case.owner not in (mine, "team") or case.stage != "handoff":
            facts[case.number]["unread"] = 0
    return facts


def unread_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases with something unread come first; otherwise the order stays (stable sort)."""
    return sorted(rows, key=lambda row: 0 if row.get("unread") else 1)


class ConsoleDesk:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/console/api/read/{number}", self.read),
            web.get("/console/api/words", self.words),
            web.get("/console/api/customers/{key}", self.customer),
            web.post("/console/api/customers/{key}/notes", self.add_note),
        ]

    async def read(self, request: web.Request) -> web.Response:
        """The agent opened the case: everything on it so far counts as seen."""
        agent = await self.console._agent(request)
        number, now = request.match_info["number"], self.console.clock()
        marker = await self.console.writer.run(
            lambda s: s.mark_read(agent["username"], number, now))
        return json_reply({"number": number, "seen": marker})

    async def words(self, request: web.Request) -> web.Response:
        await self.console._agent(request)
        return json_reply(console_names(self.console.dialog()))

    async def customer(self, request: web.Request) -> web.Response:
        await self.console._agent(request)
        key = request.match_info["key"]
        found = await self.console.writer.read(lambda s: contact(s, key))
        if found is None:
            raise json_error(404, "no such customer")
        return json_reply(found)

    async def add_note(self, request: web.Request) -> web.Response:
        agent = await self.console._agent(request)
        key = request.match_info["key"]
        data = await json_object(request)
        text = str(data.get("text", ""))
        now = self.console.clock()

        def write(store: Store) -> list[dict[str, Any]]:
            if store.customer(key) is None:
                raise LookupError(key)
            store.add_customer_note(key, agent["username"], text, now)
            return store.customer_notes(key)

        try:
            notes = await self.console.writer.run(write)
        except LookupError:
            raise json_error(404, "no such customer") from None
        except ValueError as exc:
            raise json_error(400, str(exc)) from exc
        return json_reply({"notes": notes})


def contact(store: Store, key: str) -> dict[str, Any] | None:
    """The contact panel: the customer's row, all their cases, notes on them."""
    row = store.customer(key)
    if row is None:
        return None
    cases = store.recent_cases(key, datetime.fromtimestamp(0, UTC))
    return {
        "key": key, "channel": row["channel"], "name": row["name"], "language": row["language"],
        "first_seen": row["first_seen"], "last_seen": row["last_seen"],
        "blocked": bool(row["blocked"]),
        "cases": [{"number": c.number, "stage": c.stage, "outcome": c.outcome, "rating": c.csat,
                   "received_at": c.received_at.isoformat(), "summary": c.summary or ""}
                  for c in cases],
        "notes": store.customer_notes(key),
    }

