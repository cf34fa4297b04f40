"""Trying the bot never touches the real records: `heard chat` and the console's "Try it as
a customer" keep their conversations in sandbox.db, and say so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.sandbox import NOTICE
from storage.store import Store
from tests.channels import serving
from tests.test_cli import ROOT
from tests.test_console import add_agent, sign_in


def case_count(db: Path) -> int:
    store = Store.open(db)
    try:
        return store.count_cases()
    finally:
        store.close()


def chat(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), *extra],
        input="我要找真人客服\n/quit\n", capture_output=True, text=True, cwd=ROOT, check=False,
        timeout=120)


def test_heard_chat_uses_the_sandbox_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "records.db"
    Store.open(db).close()
    done = chat(db)
    assert done.returncode == 0, done.stderr
    assert NOTICE["zh-TW"] in done.stdout and "sandbox.db" in done.stdout
    assert "CS" in done.stdout                            # a real turn happened…
    assert case_count(db) == 0                            # …but not in the records
    assert case_count(tmp_path / "sandbox.db") == 1

    done = chat(db, "--real")
    assert done.returncode == 0 and NOTICE["zh-TW"] not in done.stdout
    assert case_count(db) == 1


async def test_try_it_in_the_console_stays_out_of_the_queue(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "lin", "admin")
        add_agent(db, "amy", "agent")
        lin, csrf = await sign_in(s, "lin")
        headers = {"X-CSRF-Token": csrf}
        body = {"customer": "abcdef0123", "text": "我要找真人客服，吹風機冒煙了"}
        async with lin.post(f"{s.url}/console/api/try", headers=headers, json=body) as r:
            assert r.status == 200
            said = await r.json()
        assert said["notice"] == NOTICE["zh-TW"]
        assert said["messages"] and said["case"]["stage"] == "handoff"
        async with lin.get(f"{s.url}/console/api/cases?status=waiting", headers=headers) as r:
            assert await r.json() == []                   # the agents never see it
        assert await s.read(lambda st: st.count_cases()) == 0
        async with lin.post(f"{s.url}/console/api/try", headers=headers,
                            json={**body, "text": "", "payload": None}) as r:
            assert r.status == 400 and "say something" in (await r.json())["error"]
        async with lin.post(f"{s.url}/console/api/try", headers=headers,
                            json={**body, "customer": "../../x"}) as r:
            assert r.status == 400
        await lin.close()

        amy, amy_csrf = await sign_in(s, "amy")
        async with amy.post(f"{s.url}/console/api/try", headers={"X-CSRF-Token": amy_csrf},
                            json=body) as r:
            assert r.status == 403
        await amy.close()
    assert case_count(tmp_path / "sandbox.db") == 1
    assert case_count(db) == 0
