"""Dialog reloads that cannot stall or stop (issue 13, item 7) and `/admin/reload` that
wants an admin, not an address (item 15)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dialogs.loader import DialogError, DialogHolder, default_dialog_path, load_dialog
from tests.channels import Served, serving
from tests.processes import ROOT
from tests.test_console import add_agent, sign_in

SELF_ALIAS = "a: &a [*a]\n"
SELF_MAP = "a: &a {b: *a}\n"
# nine aliases of nine aliases ... of nine items: 387 million items once expanded
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
TOKEN = "admin-token-0123456789abcdef"


@pytest.mark.parametrize(("text", "reason"), [
    (SELF_ALIAS, "refers to itself"),
    (SELF_MAP, "refers to itself"),
    (BOMB, "alias bomb"),
    ("x: [" * 400 + "]" * 400, "levels deep"),
    ("".join(f"k{i}: &a{i} v\n" for i in range(1100)) + "l: [" +
     ",".join(f"*a{i}" for i in range(1100)) + "]\n", "aliases"),
])
def test_hostile_yaml_is_one_clear_problem(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "evil.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DialogError) as caught:
        load_dialog(path)
    [problem] = caught.value.problems
    assert problem.file == str(path) and reason in problem.reason


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    path.write_text("# " + "x" * 2_100_000 + "\n", encoding="utf-8")
    with pytest.raises(DialogError, match="larger than"):
        load_dialog(path)


def _live_copy(tmp_path: Path) -> tuple[Path, str]:
    live = tmp_path / "live.yml"
    good = default_dialog_path().read_text(encoding="utf-8")
    live.write_text(good, encoding="utf-8")
    return live, good


async def _until(condition: object, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)
    await asyncio.wait_for(wait(), timeout)


async def test_hot_reload_survives_a_self_referencing_alias(tmp_path: Path) -> None:
    live, good = _live_copy(tmp_path)
    async with serving(tmp_path / "h.db", dialog=live) as s:
        holder = s.server.dialogs
        before = holder.dialog
        watcher = asyncio.create_task(holder.watch(s.server.reload_dialog, every=0.05))
        try:
            live.write_text(good + SELF_ALIAS.replace("a:", "oops:"), encoding="utf-8")
            await _until(lambda: holder.last_error is not None)
            assert "refers to itself" in str(holder.last_error) and str(live) in str(
                holder.last_error)
            assert holder.dialog is before                       # the last good one is live
            async with s.http.get(f"{s.url}/healthz") as r:
                assert "refers to itself" in (await r.json())["dialog"]["last_error"]
            live.write_text(good.replace("risk_threshold: 1.0", "risk_threshold: 1.5"),
                            encoding="utf-8")
            await _until(lambda: holder.dialog.risk_threshold == 1.5)   # still watching
            assert holder.last_error is None
        finally:
            watcher.cancel()


async def test_reloading_runs_in_a_worker_thread(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    live, _ = _live_copy(tmp_path)
    threads: list[bool] = []
    real = DialogHolder.reload

    def watched(self: DialogHolder) -> bool:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(self)

    monkeypatch.setattr(DialogHolder, "reload", watched)
    async with serving(tmp_path / "h.db", dialog=live, admin_token=TOKEN) as s:
        result = await s.server.reload_dialog()
    assert result["ok"] and threads == [False]


async def _reload(s: Served, **headers: str) -> int:
    async with s.http.post(f"{s.url}/admin/reload", headers=headers) as r:
        return r.status


async def test_admin_reload_wants_the_token_or_an_admin(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db, admin_token=TOKEN) as s:
        assert await _reload(s) == 403                                  # from 127.0.0.1
        assert await _reload(s, **{"X-Forwarded-For": "127.0.0.1"}) == 403
        assert await _reload(s, Authorization="Bearer not-the-token") == 403
        assert await _reload(s, Authorization=f"Bearer {TOKEN}") == 200
        add_agent(db, "amy")
        add_agent(db, "lin", role="admin")
        amy, amy_csrf = await sign_in(s, "amy")
        async with amy.post(f"{s.url}/admin/reload", headers={"X-CSRF-Token": amy_csrf}) as r:
            assert r.status == 403
        lin, lin_csrf = await sign_in(s, "lin")
        async with lin.post(f"{s.url}/admin/reload") as r:
            assert r.status == 403                                      # no CSRF token
        async with lin.post(f"{s.url}/admin/reload", headers={"X-CSRF-Token": lin_csrf}) as r:
            assert r.status == 200
        await amy.close()
        await lin.close()


async def test_without_a_token_setting_only_an_admin_session_reloads(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        assert await _reload(s, Authorization="Bearer ") == 403


def test_heard_reload_needs_the_token_setting() -> None:
    env = {**os.environ, "HEARD_ADMIN_TOKEN": ""}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "reload", "--url",
                           "http://127.0.0.1:9"], capture_output=True, text=True, cwd=ROOT,
                          env=env, check=False)
    assert done.returncode == 2 and "HEARD_ADMIN_TOKEN" in done.stderr
