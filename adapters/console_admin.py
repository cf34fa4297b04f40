"""The console's accounts page (admins): the same rules as `heard agents` (bot/agent_admin.py)
over JSON, with the signed-in admin as the one acting (who can't disable or remove
themselves). Every call carries the session's CSRF token in a header."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.console_http import html_page, json_error, json_object, json_reply, template
from adapters.guard import account_key
from bot import agent_admin
from bot.accounts import hash_password
from bot.agent_admin import AccountError

if TYPE_CHECKING:
    from adapters.console import Console

log = logging.getLogger(__name__)
ACTIONS = ("passwd", "disable", "enable", "remove")


class AccountsPage:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/agents", self.page),
                web.get("/console/api/admin/agents", self.listing),
                web.post("/console/api/admin/agents", self.add),
                web.post("/console/api/admin/agents/{username}/{action}", self.act)]

    async def page(self, request: web.Request) -> web.Response:
        session = await self.console._page_session(request, ("admin",))
        return html_page(template("console_agents.html", csrf=session["csrf"],
                               agent=session["username"]))

    async def listing(self, request: web.Request) -> web.Response:
        admin = await self.console._admin(request)
        rows = await self.console.writer.read(agent_admin.account_rows)
        return json_reply({"me": admin["username"], "agents": rows})

    async def add(self, request: web.Request) -> web.Response:
        await self.console._admin(request)
        data = await json_object(request)
        username, role = _text(data, "username"), _text(data, "role") or "agent"
        name = _text(data, "name") or username
        hashed = await _hashed(_password(data))
        now = self.console.clock()
        await self._change(lambda s: agent_admin.add_account(s, username, name, hashed, role, now))
        log.info("console: an admin added account %s (%s)", account_key(username), role)
        return await self.listing(request)

    async def act(self, request: web.Request) -> web.Response:
        admin = await self.console._admin(request)
        username, action = request.match_info["username"], request.match_info["action"]
        if action not in ACTIONS:
            raise json_error(404, f"no action {action}")
        data = await json_object(request)
        now, me = self.console.clock(), admin["username"]
        if action == "passwd":
            hashed = await _hashed(_password(data))
            await self._change(lambda s: agent_admin.change_password(s, username, hashed))
        elif action == "disable":
            await self._change(lambda s: agent_admin.disable(s, username, now, by=me))
        elif action == "enable":
            await self._change(lambda s: agent_admin.enable(s, username, now))
        else:
            to = _text(data, "reassign_to") or None
            to_team = data.get("to_team") is True
            moved = await self._change(lambda s: agent_admin.remove(
                s, username, now, by=me, reassign_to=to, to_team=to_team))
            await self._tell(moved, me)
        log.info("console: an admin did %s on account %s", action, account_key(username))
        return await self.listing(request)

    async def _change(self, fn: Any) -> Any:
        try:
            return await self.console.writer.run(fn)
        except AccountError as exc:
            raise json_error(409, str(exc)) from exc

    async def _tell(self, numbers: list[str], by: str) -> None:
        """Consoles hear that the removed person's cases moved."""
        found = await self.console.writer.read(lambda s: [s.get_case(n) for n in numbers])
        for case in found:
            if case is not None:
                await self.console.hub.case_changed(case, "reassigned", by)



def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _password(data: dict[str, Any]) -> str:
    value = data.get("password")
    return value if isinstance(value, str) else ""


async def _hashed(password: str) -> str:
    try:
        return await asyncio.to_thread(hash_password, password)
    except ValueError as exc:
        raise json_error(400, str(exc)) from exc

