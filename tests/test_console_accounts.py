"""The console's accounts page through the real server: admins only, the same rules as
`heard agents` (no overwrite, the last admin and oneself stay, open cases move on remove),
and a disabled agent is signed out at once."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.channels import Served, serving
from tests.test_console import PASSWORD, add_agent, escalate, sign_in


async def admin_call(s: Served, http: aiohttp.ClientSession, csrf: str, path: str,
                     body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    method = http.get if body is None else http.post
    async with method(f"{s.url}/console/api/admin/agents{path}",
                      headers={"X-CSRF-Token": csrf}, json=body) as r:
        return r.status, await r.json()


def names(answer: dict[str, Any]) -> dict[str, tuple[str, bool, int]]:
    return {a["username"]: (a["role"], a["active"], a["open_cases"]) for a in answer["agents"]}


async def test_admins_only(tmp_path: Any) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        add_agent(db, "sue", "supervisor")
        for who in ("amy", "sue"):
            http, csrf = await sign_in(s, who)
            status, _ = await admin_call(s, http, csrf, "")
            assert status == 403
            status, _ = await admin_call(s, http, csrf, "", {"username": "eve", "password": PASSWORD})
            assert status == 403
            async with http.get(f"{s.url}/console/agents") as r:
                assert r.status == 403
            await http.close()
        async with s.http.get(f"{s.url}/console/agents", allow_redirects=False) as r:
            assert r.status == 303                       # not signed in: to the sign-in page


async def test_add_passwd_disable_enable_remove(tmp_path: Any) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "lin", "admin")
        add_agent(db, "amy")
        add_agent(db, "ben")
        lin, csrf = await sign_in(s, "lin")
        async with lin.get(f"{s.url}/console/agents") as r:
            page = await r.text()
            assert r.status == 200 and "console_agents.js" in page
            assert "'self'" in r.headers["Content-Security-Policy"]

        status, answer = await admin_call(s, lin, csrf, "", {
            "username": "cat", "name": "Cat", "role": "supervisor", "password": PASSWORD})
        assert status == 200 and names(answer)["cat"] == ("supervisor", True, 0)
        status, answer = await admin_call(s, lin, csrf, "", {
            "username": "amy", "role": "admin", "password": "overwrite attempt"})
        assert status == 409 and "already exists" in answer["error"]
        status, answer = await admin_call(s, lin, csrf, "", {"username": "dan", "password": "short"})
        assert status == 400 and "at least 10" in answer["error"]

        amy, amy_csrf = await sign_in(s, "amy")
        number = await escalate(s, 1)
        async with amy.post(f"{s.url}/console/api/cases/{number}/claim",
                            headers={"X-CSRF-Token": amy_csrf}) as r:
            assert r.status == 200
        status, answer = await admin_call(s, lin, csrf, "/amy/disable", {})
        assert status == 200 and names(answer)["amy"] == ("agent", False, 1)
        async with amy.get(f"{s.url}/console/api/cases", headers={"X-CSRF-Token": amy_csrf}) as r:
            assert r.status == 401                       # signed out at once
        await amy.close()
        status, _ = await admin_call(s, lin, csrf, "/amy/enable", {})
        assert status == 200

        status, answer = await admin_call(s, lin, csrf, "/amy/passwd", {"password": "a new long one"})
        assert status == 200
        again, again_csrf = await sign_in(s, "amy", "a new long one")
        assert again_csrf
        await again.close()

        status, answer = await admin_call(s, lin, csrf, "/amy/remove", {})
        assert status == 409 and "owns 1 open case(s)" in answer["error"]
        status, answer = await admin_call(s, lin, csrf, "/amy/remove", {"reassign_to": "ben"})
        assert status == 200 and "amy" not in names(answer)
        assert names(answer)["ben"] == ("agent", True, 1)
        case = await s.read(lambda st: st.get_case(number))
        assert case.owner == "agent:ben"

        for action in ("disable", "remove"):
            status, answer = await admin_call(s, lin, csrf, f"/lin/{action}", {})
            assert status == 409 and "your own account" in answer["error"]
        status, answer = await admin_call(s, lin, csrf, "/nobody/disable", {})
        assert status == 409 and "no agent 'nobody'" in answer["error"]
        status, _ = await admin_call(s, lin, csrf, "/ben/explode", {})
        assert status == 404
        await lin.close()
