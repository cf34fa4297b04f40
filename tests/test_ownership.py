"""A claimed case is its agent's (issue 13, item 14): every other agent is refused every
action on it; supervisors and admins may step in, and the case's events say they did."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.channels import Served, serving
from tests.test_console import add_agent, escalate, sign_in

DUE = (datetime.now().astimezone() + timedelta(days=1)).isoformat(timespec="minutes")
ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("reply", {"text": "我來回覆"}),
    ("note", {"text": "ben 的筆記"}),
    ("commit", {"commitment": "明天換新", "due_at": DUE}),
    ("transfer", {"to": "ben"}),
    ("resolve", {}),
    ("hand_back", {"then": "listen"}),
]


async def act(s: Served, http: aiohttp.ClientSession, csrf: str, number: str, action: str,
              body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{s.url}/console/api/cases/{number}/{action}",
                         headers={"X-CSRF-Token": csrf}, json=body) as r:
        return r.status, await r.json()


async def events(s: Served, number: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await s.read(lambda st: st.events(number))
    return found


async def claimed_by_amy(s: Served, db: Path) -> str:
    for name, role in (("amy", "agent"), ("ben", "agent"), ("sue", "supervisor"),
                       ("lin", "admin")):
        add_agent(db, name, role)
    number = await escalate(s, 1, "我要找真人客服")
    amy, csrf = await sign_in(s, "amy")
    assert (await act(s, amy, csrf, number, "claim", {}))[0] == 200
    await act(s, amy, csrf, number, "commit", {"commitment": "今天寄出新品", "due_at": DUE})
    await amy.close()
    return number


@pytest.mark.parametrize(("action", "body"), [*ACTIONS, ("fulfil", {})])
async def test_another_agent_is_refused_every_action(tmp_path: Path, action: str,
                                                     body: dict[str, Any]) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        number = await claimed_by_amy(s, db)
        before = await events(s, number)
        ben, csrf = await sign_in(s, "ben")
        status, answer = await act(s, ben, csrf, number, action, body)
        await ben.close()
        assert status == 409 and "belongs to amy" in answer["error"]
        assert await events(s, number) == before                  # nothing happened
        case = await s.read(lambda st: st.get_case(number))
        assert case.owner == "agent:amy" and case.commitment == "今天寄出新品"


@pytest.mark.parametrize("who", ["sue", "lin"])
async def test_a_supervisor_or_admin_may_override_and_it_is_recorded(tmp_path: Path,
                                                                     who: str) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        number = await claimed_by_amy(s, db)
        boss, csrf = await sign_in(s, who)
        status, _ = await act(s, boss, csrf, number, "commit",
                              {"commitment": "改為全額退款", "due_at": DUE})
        assert status == 200
        status, _ = await act(s, boss, csrf, number, "note", {"text": "已和客人確認"})
        assert status == 200
        await boss.close()
        overrides = [e["data"] for e in await events(s, number) if e["kind"] == "override"]
        assert overrides == [{"agent": who, "owner": "amy", "action": "commit"},
                             {"agent": who, "owner": "amy", "action": "note"}]
        case = await s.read(lambda st: st.get_case(number))
        assert case.commitment == "改為全額退款" and case.owner == "agent:amy"


async def test_the_owner_acts_without_an_override(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        number = await claimed_by_amy(s, db)
        amy, csrf = await sign_in(s, "amy")
        for action, body in ACTIONS[:3]:
            assert (await act(s, amy, csrf, number, action, body))[0] == 200
        await amy.close()
        assert not [e for e in await events(s, number) if e["kind"] == "override"]
