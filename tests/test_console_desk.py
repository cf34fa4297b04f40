"""The console's read markers, queue facts, contact panel and names over HTTP."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from dialogs.console_words import console_names
from dialogs.loader import DialogError, default_dialog_path, parse_dialog
from tests.channels import Served, line_body, line_event, serving
from tests.test_console import USER, add_agent, escalate, sign_in


async def get(http: aiohttp.ClientSession, s: Served, csrf: str, path: str) -> object:
    async with http.get(f"{s.url}{path}", headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def queue_row(http: aiohttp.ClientSession, s: Served, csrf: str, number: str) -> dict:
    rows = await get(http, s, csrf, "/console/api/cases?status=open")
    assert isinstance(rows, list)
    return next(row for row in rows if row["number"] == number)


async def customer_says(s: Served, n: int, event: int, text: str) -> None:
    await s.post_line(line_body(line_event("text", f"{USER[:-3]}{n:03d}",
                                           f"01CONSOLE{event:017d}", text=text)))
    await s.settle()


async def test_unread_is_per_agent_and_only_for_their_own_or_unowned_cases(
        tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        add_agent(db, "ben")
        number = await escalate(s, 1, "我的包裹寄丟了，我要找真人客服")
        amy, csrf = await sign_in(s, "amy")
        ben, ben_csrf = await sign_in(s, "ben")
        row = await queue_row(amy, s, csrf, number)
        assert row["unread"] == 1 and "包裹寄丟了" in row["preview"]   # unowned: everyone's
        assert row["waiting_from"] and row["last_from"] == "bot"
        assert (await queue_row(ben, s, ben_csrf, number))["unread"] == 1

        async with amy.post(f"{s.url}/console/api/read/{number}") as r:
            assert r.status == 403                                   # CSRF header needed
        async with amy.post(f"{s.url}/console/api/read/{number}",
                            headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
        assert (await queue_row(amy, s, csrf, number))["unread"] == 0
        assert (await queue_row(ben, s, ben_csrf, number))["unread"] == 1   # ben's own marker

        async with amy.post(f"{s.url}/console/api/cases/{number}/claim",
                            headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
        async with amy.post(f"{s.url}/console/api/cases/{number}/reply",
                            headers={"X-CSRF-Token": csrf}, json={"text": "我來幫您查"}) as r:
            assert r.status == 200
        await s.settle()
        assert (await queue_row(amy, s, csrf, number))["waiting_from"] is None   # answered
        await customer_says(s, 1, 901, "好的，麻煩盡快")
        await customer_says(s, 1, 902, "請問查到了嗎？")
        row = await queue_row(amy, s, csrf, number)
        assert row["unread"] == 2 and row["preview"] == "請問查到了嗎？"
        assert row["last_from"] == "customer" and row["waiting_from"]
        assert (await queue_row(ben, s, ben_csrf, number))["unread"] == 0    # amy's case now

        other = await escalate(s, 2, "我要找真人客服，東西壞了")
        rows = await get(amy, s, csrf, "/console/api/cases?status=open")
        assert isinstance(rows, list)
        assert [r["number"] for r in rows if r["unread"]] == [number, other] or \
            [r["number"] for r in rows if r["unread"]] == [other, number]
        assert all(r["unread"] for r in rows[:2])                    # unread first

        detail = await get(amy, s, csrf, f"/console/api/cases/{number}")
        assert isinstance(detail, dict)
        agent_lines = [m for m in detail["messages"] if m["from"] == "agent"]
        assert [m["by"] for m in agent_lines] == ["Amy"]             # who wrote it, by name
        await amy.close()
        await ben.close()


async def test_the_contact_panel_and_customer_notes(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        number = await escalate(s, 3, "我要找真人客服")
        amy, csrf = await sign_in(s, "amy")
        headers = {"X-CSRF-Token": csrf}
        key = f"line:{USER[:-3]}003"
        person = await get(amy, s, csrf, f"/console/api/customers/{key}")
        assert isinstance(person, dict)
        assert person["channel"] == "line" and person["blocked"] is False
        assert [c["number"] for c in person["cases"]] == [number]
        assert person["first_seen"] and person["notes"] == []

        url = f"{s.url}/console/api/customers/{key}/notes"
        async with amy.post(url, json={"text": "偏好下午聯絡"}) as r:
            assert r.status == 403
        for body, status in ((b"not json", 400), (b'{"text": "  "}', 400),
                             (b'{"text": "' + b"x" * 2001 + b'"}', 400), (b"[1]", 400)):
            async with amy.post(url, data=body, headers={**headers,
                                "Content-Type": "application/json"}) as r:
                assert r.status == status and (await r.json())["error"]
        async with amy.post(url, headers=headers, json={"text": "偏好下午聯絡"}) as r:
            assert r.status == 200
            notes = (await r.json())["notes"]
        assert [(n["agent_name"], n["text"]) for n in notes] == [("Amy", "偏好下午聯絡")]
        async with amy.post(f"{s.url}/console/api/customers/line:Unobody/notes",
                            headers=headers, json={"text": "hi"}) as r:
            assert r.status == 404
        async with amy.get(f"{s.url}/console/api/customers/line:Unobody", headers=headers) as r:
            assert r.status == 404
        await amy.close()


async def test_the_console_speaks_the_dialogs_names(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        add_agent(tmp_path / "h.db", "amy")
        amy, csrf = await sign_in(s, "amy")
        words = await get(amy, s, csrf, "/console/api/words")
        assert isinstance(words, dict)
        assert words["severities"]["urgent"] == "緊急" and words["stages"]["handoff"] == "轉專人"
        assert words["signals"]["threat"] == "揚言申訴"
        assert words["categories"]["logistics"] == "物流配送"
        assert words["timezone"] == "Asia/Taipei" and words["zone"] == "台北時間"
        await amy.close()


def test_the_console_section_is_checked_and_may_choose_the_language() -> None:
    text = default_dialog_path().read_text(encoding="utf-8")
    english = parse_dialog(text.replace("  locale: zh-TW\n  zone:", "  locale: en\n  zone:"))
    assert english.console.locale == "en"

    assert console_names(english)["severities"]["urgent"] == "Urgent"
    bad = text.replace("    urgent: {zh-TW: 緊急,", "    dire: {zh-TW: 緊急,").replace(
        "  locale: zh-TW\n  zone:", "  locale: klingon\n  zone:")
    try:
        parse_dialog(bad)
    except DialogError as exc:
        problems = str(exc)
    else:
        raise AssertionError("a bad console section was accepted")
    assert "console.locale" in problems and "console.severities.dire" in problems
    without = parse_dialog(text.split("\nconsole:")[0])
    assert console_names(without)["severities"]["urgent"] == "urgent"   # its key, never blank
