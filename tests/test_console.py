"""The agent console over HTTP: sign-in, CSRF, rate limits, the queue, actions, live news."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.accounts import hash_password
from storage.store import Store
from tests.channels import Served, line_body, line_event, serving

USER = "Uconsole0000000000000000000000001"
PASSWORD = "correct horse battery"


def add_agent(db: Path, username: str, role: str = "agent") -> None:
    store = Store.open(db)
    with store.transaction():
        store.add_agent(username, username.title(), hash_password(PASSWORD), role,
                        datetime.now(UTC))
    store.close()


async def sign_in(s: Served, username: str, password: str = PASSWORD) -> tuple[
        aiohttp.ClientSession, str]:
    """A browser-like session: fetch the login page, post the form, read the CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{s.url}/console") as r:
        page = await r.text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    async with http.post(f"{s.url}/console/login", data={
            "csrf": token.group(1), "username": username, "password": password}) as r:
        page = await r.text()
    csrf = re.search(r'<meta name="csrf" content="([^"]+)"', page)
    return http, csrf.group(1) if csrf else ""


async def escalate(s: Served, n: int, text: str = "我要找真人客服") -> str:
    await s.post_line(line_body(line_event("text", f"{USER[:-3]}{n:03d}",
                                           f"01CONSOLE{n:017d}", text=text)))
    await s.settle()
    cases = await s.read(lambda st: st.list_cases(stage="handoff"))
    return str(cases[0].number)


async def test_sign_in_sets_a_safe_cookie_and_wrong_passwords_are_limited(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        http, csrf = await sign_in(s, "amy")
        assert csrf
        cookie = next(c for c in http.cookie_jar if c.key == "heard_session")
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        await http.close()

        for _ in range(5):
            other, csrf = await sign_in(s, "amy", "wrong password!")
            assert csrf == ""
            await other.close()
        blocked, csrf = await sign_in(s, "amy")      # even the right password, for a while
        assert csrf == ""
        await blocked.close()


async def test_the_api_wants_a_session_and_the_csrf_token(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        async with s.http.get(f"{s.url}/console/api/cases") as r:
            assert r.status == 401
        http, csrf = await sign_in(s, "amy")
        async with http.get(f"{s.url}/console/api/cases") as r:
            assert r.status == 403                     # no CSRF header
        async with http.get(f"{s.url}/console/api/cases",
                            headers={"X-CSRF-Token": "guess"}) as r:
            assert r.status == 403
        async with http.get(f"{s.url}/console/api/cases", headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
        await http.close()


async def test_queue_order_claim_reply_and_resolve(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        add_agent(db, "ben")
        await escalate(s, 1, "我要找真人客服")                        # standard
        urgent = await escalate(s, 2, "你們的熱水壺漏電，我被電到")     # urgent
        amy, csrf = await sign_in(s, "amy")
        headers = {"X-CSRF-Token": csrf}
        async with amy.get(f"{s.url}/console/api/cases?status=waiting", headers=headers) as r:
            queue = await r.json()
        assert [c["severity"] for c in queue] == ["urgent", "standard"]
        assert queue[0]["number"] == urgent

        async with amy.post(f"{s.url}/console/api/cases/{urgent}/claim", headers=headers) as r:
            assert r.status == 200 and (await r.json())["owner"] == "agent:amy"
        ben, ben_csrf = await sign_in(s, "ben")
        async with ben.post(f"{s.url}/console/api/cases/{urgent}/reply",
                            headers={"X-CSRF-Token": ben_csrf}, json={"text": "hi"}) as r:
            assert r.status == 409 and "belongs to amy" in (await r.json())["error"]
        async with amy.post(f"{s.url}/console/api/cases/{urgent}/reply", headers=headers,
                            json={"text": "您好，我是 Amy，請問您現在還好嗎？"}) as r:
            assert r.status == 200
        await s.settle()
        pushed = [call for call in s.line.pushes if "Amy" in call["messages"][0]["text"]]
        assert len(pushed) == 1 and pushed[0]["to"].endswith("002")

        async with amy.get(f"{s.url}/console/api/cases/{urgent}", headers=headers) as r:
            detail = await r.json()
        assert detail["signal_hits"][0]["name"] == "safety" and detail["signal_hits"][0]["words"]
        assert [m["from"] for m in detail["messages"]][-1] == "agent"
        assert "took_over" in detail["canned"] and urgent in detail["canned"]["took_over"]
        async with amy.post(f"{s.url}/console/api/cases/{urgent}/resolve", headers=headers) as r:
            assert r.status == 200 and (await r.json())["stage"] == "committed"
        await amy.close()
        await ben.close()


async def test_a_new_escalation_is_announced_live(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        http, csrf = await sign_in(s, "amy")
        async with http.get(f"{s.url}/console/api/events", headers={"X-CSRF-Token": csrf}) as stream:
            assert stream.status == 200
            assert (await stream.content.readline()).startswith(b": connected")
            await escalate(s, 3, "我要找你們主管")
            event = await asyncio.wait_for(_next_event(stream), timeout=5)
        assert event["type"] == "escalated" and event["case"]["owner"] == "team"
        await http.close()


async def _next_event(stream: aiohttp.ClientResponse) -> dict[str, object]:
    while True:
        line = await stream.content.readline()
        if line.startswith(b"data: "):
            data: dict[str, object] = json.loads(line[6:])
            return data


async def test_hostile_text_stays_data_in_the_api(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        hostile = '<script>alert(1)</script>我要找真人'
        number = await escalate(s, 4, hostile)
        http, csrf = await sign_in(s, "amy")
        async with http.get(f"{s.url}/console/api/cases/{number}",
                            headers={"X-CSRF-Token": csrf}) as r:
            assert r.headers["Content-Type"].startswith("application/json")
            detail = await r.json()
        assert detail["messages"][0]["text"] == hostile
        async with http.get(f"{s.url}/console") as r:
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        await http.close()


async def test_an_sla_breach_alerts_the_desk_and_tells_the_customer_once(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.channels import Clock

    clock = Clock()
    clock.now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)     # Tuesday 11:00 in Taipei
    async with serving(tmp_path / "h.db", clock=clock) as s:
        listener = s.server.hub.listen()
        number = await escalate(s, 5, "耳機壞了，再不處理我就找消保官")   # high: 4 hours
        assert (await listener.get())["type"] == "escalated"
        clock.now += timedelta(hours=3)
        assert await s.server.scheduler.tick() == 0
        clock.now += timedelta(hours=2)
        assert await s.server.scheduler.tick() == 1
        await s.settle()
        event = await asyncio.wait_for(listener.get(), timeout=2)
        assert event["type"] == "sla" and event["case"]["number"] == number
        assert event["case"]["sla_breached"] is True
        said = [m["text"] for p in s.line.pushes for m in p["messages"]]
        assert len(said) == 1 and "久等" in said[0]
        clock.now += timedelta(hours=6)
        assert await s.server.scheduler.tick() == 0


async def test_admins_export_every_case_as_csv_and_agents_cannot(tmp_path: Path) -> None:
    import csv as csv_
    import io

    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "lin", role="admin")
        add_agent(db, "amy")
        number = await escalate(s, 6, "我要找真人客服")
        lin, _ = await sign_in(s, "lin")
        async with lin.get(f"{s.url}/console/export.csv") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
            rows = list(csv_.DictReader(io.StringIO(await r.text())))
        assert rows[0]["number"] == number and rows[0]["stage"] == "handoff"
        assert {"signals", "owner", "first_response_due", "csat"} <= set(rows[0])
        amy, _ = await sign_in(s, "amy")
        async with amy.get(f"{s.url}/console/export.csv") as r:
            assert r.status == 403
        await lin.close()
        await amy.close()


async def test_the_case_view_offers_the_remedies_the_customer_would_see(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        number = await escalate(s, 3, "我訂的外套是 M 號，收到的是 XL，我要找真人客服")
        amy, csrf = await sign_in(s, "amy")
        async with amy.get(f"{s.url}/console/api/cases/{number}",
                           headers={"X-CSRF-Token": csrf}) as r:
            detail = await r.json()
        assert detail["situation"] == "wrong_item"
        offers = [r["offer"] for r in detail["remedies"]]
        # the wrong-item pair (not the general product one), with the size ordered filled in
        assert len(offers) == 2 and "M 號" in offers[0] and "外套" in offers[0], offers
        await amy.close()
