"""The agent console: login, a live queue of handed-off cases, the case view and actions.

Sessions are random tokens in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS);
only their hash is stored. Every form and API call carries the session's CSRF token (a
header for the API, the live event stream included; a form field for login and logout),
never in a URL. Sign-in attempts are limited per address and per account (`guard`).
Everything a customer wrote reaches the page as JSON and is shown with `textContent`,
never as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters import console_files
from adapters.console_admin import AccountsPage
from adapters.console_desk import ConsoleDesk, queue_facts, unread_first
from adapters.console_find import find_routes
from adapters.console_http import html_page, json_error, json_object, json_reply, template
from adapters.console_reports import ReportDownloads
from adapters.console_try import TryIt
from adapters.console_view import action_args, detail, summary
from adapters.dashboard import dashboard_content
from adapters.guard import LoginLimiter, Network, account_key, client_address
from bot import accounts, agents
from bot.case import CaseState
from bot.desk import DeskService
from bot.files import FileStore
from bot.reports import period
from dialogs.loader import DialogHolder
from dialogs.model import SEVERITIES, Dialog
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)

COOKIE = "heard_session"
LOGIN_COOKIE = "heard_login"
SESSION_HOURS = 12


class ConsoleHub:
    """A desk: every connected console hears about cases at once (server-sent events)."""

    name = "console"

    def __init__(self) -> None:
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()

    def listen(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=500)
        self.listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.listeners.discard(queue)

    def close(self) -> None:
        """The server is stopping: end every live stream so shutdown need not wait."""
        for queue in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait({"type": "bye"})

    def _send(self, event: dict[str, Any]) -> None:
        for queue in list(self.listeners):
            if queue.full():
                continue   # a stalled browser misses live news; its next reload catches up
            queue.put_nowait(event)

    async def case_escalated(self, case: CaseState) -> None:
        self._send({"type": "escalated", "case": summary(case)})

    async def case_changed(self, case: CaseState, what: str, agent: str | None) -> None:
        self._send({"type": "changed", "what": what, "agent": agent, "case": summary(case)})

    async def customer_wrote(self, case: CaseState, text: str) -> None:
        self._send({"type": "message", "case": summary(case)})

    async def customer_sent_file(self, case: CaseState) -> None:
        self._send({"type": "message", "case": summary(case)})

    async def sla_breached(self, case: CaseState) -> None:
        self._send({"type": "sla", "case": summary(case)})

    async def commitment_overdue(self, case: CaseState) -> None:
        self._send({"type": "overdue", "case": summary(case)})

    async def delivery_failed(self, case: CaseState, status: str, reason: str) -> None:
        self._send({"type": "delivery", "status": status, "reason": reason,
                    "case": summary(case)})


class Console:
    def __init__(self, writer: Writer, desk: DeskService, hub: ConsoleHub,
                 holder: DialogHolder, clock: Callable[[], datetime],
                 trusted_proxies: tuple[Network, ...] = (),
                 files: FileStore | None = None) -> None:
        self.writer, self.desk, self.hub, self.holder, self.clock = (
            writer, desk, hub, holder, clock)
        self.files = files            # photos and files customers sent (console_files.py)
        self.limiter = LoginLimiter(writer)
        self.trusted_proxies = trusted_proxies
        self.try_it = TryIt(self)

    def dialog(self) -> Dialog:
        return self.holder.dialog

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/console", self.page),
            web.post("/console/login", self.login),
            web.post("/console/logout", self.logout),
            web.get("/console/api/me", self.me),
            web.get("/console/api/cases", self.cases),
            web.get("/console/api/cases/{number}", self.case),
            web.post("/console/api/cases/{number}/{action}", self.action),
            web.get("/console/api/agents", self.agent_list),
            web.get("/console/api/events", self.events),
            web.get("/console/dashboard", self.dashboard),
            web.get("/console/export.csv", self.export),
            web.get("/console/dialog", self.dialog_page),
            web.post("/console/api/stories", self.stories),
            *ReportDownloads(self).routes(),
            *self.try_it.routes(),
            *AccountsPage(self).routes(),
            *find_routes(self),
            *console_files.routes(self.writer, self._session, self.files),
            *ConsoleDesk(self).routes(),
        ]

    # ------------------------------------------------------------ sessions

    async def _session(self, request: web.Request) -> dict[str, Any] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        digest, now = accounts.token_hash(token), self.clock().timestamp()
        return await self.writer.read(lambda s: s.session(digest, now))

    async def _agent(self, request: web.Request) -> dict[str, Any]:
        """The signed-in agent of an API call, with its CSRF token checked."""
        session = await self._session(request)
        if session is None:
            raise json_error(401, "sign in first")
        sent = request.headers.get("X-CSRF-Token")      # never in the URL: logs keep URLs
        if not sent or sent != session["csrf"]:
            raise json_error(403, "missing or wrong CSRF token")
        return session

    async def _admin(self, request: web.Request) -> dict[str, Any]:
        """The signed-in admin of an API call (CSRF checked); 403 for anyone else."""
        agent = await self._agent(request)
        if agent["role"] != "admin":
            raise json_error(403, "admins only")
        return agent

    async def is_admin(self, request: web.Request) -> bool:
        """A signed-in admin whose request carries the session's CSRF token (header)."""
        session = await self._session(request)
        sent = request.headers.get("X-CSRF-Token")
        return (session is not None and session["role"] == "admin" and bool(sent)
                and sent == session["csrf"])

    async def page(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        if session is None:
            token = accounts.new_token()
            error = {"failed": "帳號或密碼不正確 · Wrong username or password",
                     "limited": "嘗試太多次，請稍後再試 · Too many tries, wait a few minutes",
                     "csrf": "登入頁已過期，請再試一次 · The page expired, please try again"
                     }.get(request.query.get("error", ""), "")
            body = template("console_login.html", csrf=token, error=error)
            response = html_page(body)
            response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict",
                                secure=_secure(request), path="/console")
            return response
        return html_page(template("console.html", csrf=session["csrf"],
                               agent=session["display_name"] or session["username"]))

    async def login(self, request: web.Request) -> web.Response:
        """The attempt is counted before the (slow, Argon2) check, which runs off the event
        loop; a username is never logged, only a short digest of it."""
        form = await request.post()
        address = client_address(request, self.trusted_proxies)
        sent, expected = str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
        if not sent or sent != expected:
            raise web.HTTPSeeOther("/console?error=csrf")
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        stamp = await self.limiter.attempt(address, username)
        if stamp is None:
            log.warning("console: too many sign-in attempts from %s or for %s", address,
                        account_key(username))
            raise web.HTTPSeeOther("/console?error=limited")
        agent = await self.writer.read(lambda s: s.agent(username))
        if not await accounts.check_password(agent["password_hash"] if agent else None, password):
            log.info("console: failed sign-in for %s from %s", account_key(username), address)
            raise web.HTTPSeeOther("/console?error=failed")
        await self.limiter.succeeded(address, username, stamp)
        assert agent is not None
        token, csrf, now = accounts.new_token(), accounts.new_token(), self.clock()
        expires = (now + timedelta(hours=SESSION_HOURS)).timestamp()
        digest = accounts.token_hash(token)
        await self.writer.run(lambda s: s.add_session(digest, agent["id"], csrf, now, expires))
        response = web.HTTPSeeOther("/console")
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                            secure=_secure(request), path="/", max_age=SESSION_HOURS * 3600)
        response.del_cookie(LOGIN_COOKIE, path="/console")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        form = await request.post()
        if session is not None and form.get("csrf") == session["csrf"]:
            digest = accounts.token_hash(request.cookies[COOKIE])
            await self.writer.run(lambda s: s.end_session(digest))
        response = web.HTTPSeeOther("/console")
        response.del_cookie(COOKIE, path="/")
        raise response

    # ------------------------------------------------------------ reading

    async def me(self, request: web.Request) -> web.Response:
        agent = await self._agent(request)
        return json_reply({"username": agent["username"], "name": agent["display_name"],
                      "role": agent["role"]})

    async def agent_list(self, request: web.Request) -> web.Response:
        await self._agent(request)
        found = await self.writer.read(lambda s: s.agents())
        return json_reply([{"username": a["username"], "name": a["display_name"], "role": a["role"]}
                      for a in found])

    async def cases(self, request: web.Request) -> web.Response:
        agent = await self._agent(request)
        status = request.query.get("status", "open")
        severity = request.query.get("severity") or None
        channel = request.query.get("channel") or None
        label = request.query.get("label") or None
        me = agents.owner_of(agent["username"])

        def read(store: Store) -> list[CaseState]:
            if status == "recent":
                return store.list_cases(severity=severity, channel=channel, label=label,
                                        limit=100)
            owner = {"waiting": "team", "mine": me}.get(status)
            found = store.list_cases(stage="handoff", severity=severity, channel=channel,
                                     owner=owner, label=label, limit=500)
            if status == "claimed":
                found = [c for c in found if c.owner.startswith("agent:")]
            return found

        found = await self.writer.read(read)
        if status != "recent":
            found.sort(key=lambda c: (SEVERITIES.index(c.severity),
                                      c.handoff_at or c.received_at))
        facts = await self.writer.read(lambda s: queue_facts(s, found, agent["username"]))
        return json_reply(unread_first([{**summary(c), **facts[c.number]} for c in found]))

    async def case(self, request: web.Request) -> web.Response:
        agent = await self._agent(request)
        number = request.match_info["number"]
        dialog = self.dialog()

        def read(store: Store) -> dict[str, Any] | None:
            case = store.get_case(number)
            if case is None:
                return None
            earlier = [summary(c) for c in store.list_cases(limit=20)
                       if c.conversation_key == case.conversation_key and c.number != number]
            return {"case": case, "messages": console_files.with_attachments(store, number),
                    "events": store.events(number), "earlier": earlier,
                    "agent_names": store.agent_names()}

        found = await self.writer.read(read)
        if found is None:
            raise json_error(404, f"no case {number}")
        return json_reply(detail(found, dialog, agent["display_name"] or agent["username"],
                            self.clock()))

    # ------------------------------------------------------------ acting

    async def action(self, request: web.Request) -> web.Response:
        agent = await self._agent(request)
        number, action = request.match_info["number"], request.match_info["action"]
        data = await json_object(request)
        try:
            args = action_args(action, data)
            case = await self.desk.act(number, agent["username"], action, role=agent["role"],
                                       **args)
        except agents.ChoiceError as exc:
            raise json_error(400, str(exc)) from exc
        except agents.ActionError as exc:
            raise json_error(409, str(exc)) from exc
        except (ValueError, TypeError) as exc:
            raise json_error(400, str(exc)) from exc
        return json_reply(summary(case))

    # ------------------------------------------------------------ admin pages

    async def _page_session(self, request: web.Request, roles: tuple[str, ...]) -> dict[str, Any]:
        session = await self._session(request)
        if session is None:
            raise web.HTTPSeeOther("/console")
        if session["role"] not in roles:
            raise web.HTTPForbidden(text="admins and supervisors only")
        return session

    async def dashboard(self, request: web.Request) -> web.Response:
        session = await self._page_session(request, ("admin", "supervisor"))
        start_day, end_day, start, end, tz = self.report_period(request)
        query = urlencode({"from": start_day.isoformat(), "to": end_day.isoformat()})
        dialog = self.dialog()
        content = await self.writer.read(lambda s: dashboard_content(s, start, end, query,
                                                                     dialog))
        return html_page(template("console_dashboard.html", raw={"content": content},
                               csrf=session["csrf"], start=start_day.isoformat(),
                               end=end_day.isoformat(), zone=tz.key))

    def report_period(self, request: web.Request) -> tuple[date, date, datetime, datetime,
                                                           ZoneInfo]:
        """The report page's days (`from`, `to`; the last 30 by default) in the team's zone:
        first and last day, and the [start, end) they span."""
        tz = ZoneInfo(self.dialog().timezone)
        try:
            first = date.fromisoformat(request.query["from"]) if request.query.get("from") else None
            last = date.fromisoformat(request.query["to"]) if request.query.get("to") else None
        except ValueError:
            raise web.HTTPBadRequest(text="dates look like 2026-11-01") from None
        return (*period(tz, first, last, self.clock().astimezone(tz).date()), tz)

    async def export(self, request: web.Request) -> web.Response:
        """Every case with every record field, as CSV (admins and supervisors)."""
        await self._page_session(request, ("admin", "supervisor"))
        tz = ZoneInfo(self.dialog().timezone)          # times are the team's

        def write(store: Store) -> str:
            out = io.StringIO()
            store.export_cases_csv(out, tz)
            return out.getvalue()

        body = await self.writer.read(write)
        stamp = self.clock().strftime("%Y%m%d")
        return web.Response(text=body, content_type="text/csv", charset="utf-8", headers={
            "Content-Disposition": f'attachment; filename="heard-cases-{stamp}.csv"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    async def dialog_page(self, request: web.Request) -> web.Response:
        session = await self._page_session(request, ("admin",))
        dialog, error = self.holder.dialog, self.holder.last_error
        error_at = self.holder.error_at
        return html_page(template(
            "console_dialog.html", csrf=session["csrf"], name=dialog.name, path=dialog.path,
            version=dialog.digest[:12], loaded=self.holder.loaded_at.isoformat(timespec="seconds"),
            error=str(error) if error else "",
            error_at=error_at.isoformat(timespec="seconds") if error and error_at else ""))

    async def stories(self, request: web.Request) -> web.Response:
        await self._admin(request)
        text = await request.text()
        dialog = self.dialog()
        return json_reply(await asyncio.to_thread(_run_stories, text, dialog))

    # ------------------------------------------------------------ live news

    async def events(self, request: web.Request) -> web.StreamResponse:
        await self._agent(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue = self.hub.listen()
        try:
            await response.write(b": connected\n\n")
            async for event in _events(queue):
                if event["type"] == "bye":
                    break
                payload = json.dumps(event, ensure_ascii=False)
                await response.write(f"event: {event['type']}\ndata: {payload}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.leave(queue)
        return response


async def _events(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        try:
            yield await asyncio.wait_for(queue.get(), timeout=20)
        except TimeoutError:
            yield {"type": "ping"}




def _run_stories(text: str, dialog: Dialog) -> dict[str, Any]:
    """Story files pasted in the console, run against the live dialog."""
    from bot.stories import StoryError, load_stories, run_stories

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stories.yml"
        path.write_text(text, encoding="utf-8")
        try:
            found = load_stories([path])
        except StoryError as exc:
            return {"error": str(exc).replace(str(path), "stories")}
        if not found:
            return {"error": "no stories in the text"}
        report = run_stories(found, dialog)
    return {"passed": report.passed, "failed": report.failed,
            "failures": [str(f).replace(str(path), "stories") for f in report.failures]}








def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"
