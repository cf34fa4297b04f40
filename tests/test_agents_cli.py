"""`heard agents`: add refuses a name already given, passwd, disable (sessions end at once),
enable, remove (refused while the person owns open cases, unless they are reassigned)."""

from __future__ import annotations

import getpass
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.accounts import verify_password
from bot.case import CaseState
from bot.cli import main
from storage.store import Store
from tests.channels import serving
from tests.test_console import escalate, sign_in

PASSWORD = "correct horse battery"


def agents(db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           *argv: str, password: str | None = None) -> tuple[int, str, str]:
    if password is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        argv = (*argv, "--password-stdin")
    code = main(["agents", *argv, "--db", str(db)])
    out, err = capsys.readouterr()
    return code, out, err


def password_hash(db: Path, username: str) -> str:
    store = Store.open(db)
    try:
        row = store.conn.execute("SELECT password_hash FROM agents WHERE username = ?",
                                 (username,)).fetchone()
        return str(row[0])
    finally:
        store.close()


def owned_case(db: Path, number: str, owner: str) -> None:
    now = datetime.now(UTC)
    store = Store.open(db)
    with store.transaction():
        store.save_case(CaseState(number, f"line:{number}", "line", None, "zh-TW", "handoff",
                                  now, now, now + timedelta(hours=1), owner=owner,
                                  handoff_at=now, claimed_at=now))
    store.close()


@pytest.fixture
def team(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "h.db"
    for name, role in (("lin", "admin"), ("amy", "agent"), ("ben", "agent")):
        code, _, _ = agents(db, capsys, monkeypatch, "add", name, "--role", role,
                            password=PASSWORD)
        assert code == 0
    return db


def test_add_refuses_an_existing_username_and_keeps_the_old_password(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    before = password_hash(team, "amy")
    code, _, err = agents(team, capsys, monkeypatch, "add", "amy", "--role", "admin",
                          password="an entirely new one")
    assert code == 1 and "'amy' already exists" in err and "heard agents passwd amy" in err
    assert password_hash(team, "amy") == before
    code, out, _ = agents(team, capsys, monkeypatch, "list")
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["amy", "agent"], ["ben", "agent"], ["lin", "admin"]]


def test_add_refuses_bad_names_roles_and_short_passwords(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for argv, password, said in [
            (("add", "a b"), PASSWORD, "usernames are"),
            (("add", "sue", "--role", "boss"), PASSWORD, "role must be one of"),
            (("add", "sue"), "short", "at least 10 characters")]:
        code, _, err = agents(team, capsys, monkeypatch, *argv, password=password)
        assert code == 1 and said in err
    assert "sue" not in agents(team, capsys, monkeypatch, "list")[1]
    code, _, err = agents(team, capsys, monkeypatch, "passwd")
    assert code == 2 and "heard agents passwd USERNAME" in err


def test_passwd_changes_the_password_and_asks_twice(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = agents(team, capsys, monkeypatch, "passwd", "amy",
                          password="a brand new password")
    assert code == 0 and "password changed" in out
    assert verify_password(password_hash(team, "amy"), "a brand new password")
    assert not verify_password(password_hash(team, "amy"), PASSWORD)

    answers = iter(["first try password", "second try password"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code, _, err = agents(team, capsys, monkeypatch, "passwd", "amy")
    assert code == 1 and "the passwords differ" in err
    assert verify_password(password_hash(team, "amy"), "a brand new password")

    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail("asked for a password"))
    code, _, err = agents(team, capsys, monkeypatch, "passwd", "nobody")
    assert code == 1 and "there is no agent 'nobody'" in err
    code, _, err = agents(team, capsys, monkeypatch, "add", "amy")      # refused before asking
    assert code == 1 and "'amy' already exists" in err


async def test_disable_signs_out_at_once_enable_lets_them_back(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(team) as s:
        number = await escalate(s, 1)
        amy, csrf = await sign_in(s, "amy", PASSWORD)
        headers = {"X-CSRF-Token": csrf}
        async with amy.post(f"{s.url}/console/api/cases/{number}/claim", headers=headers) as r:
            assert r.status == 200
        code, out, _ = agents(team, capsys, monkeypatch, "disable", "amy")
        assert code == 0 and "disabled" in out
        async with amy.get(f"{s.url}/console/api/cases", headers=headers) as r:
            assert r.status == 401                               # the open session ended
        await amy.close()
        again, csrf = await sign_in(s, "amy", PASSWORD)
        assert csrf == ""                                        # and can't sign in
        await again.close()
        case = await s.read(lambda st: st.get_case(number))
        assert case.owner == "agent:amy"                         # the history stays

        code, _, err = agents(team, capsys, monkeypatch, "disable", "amy")
        assert code == 1 and "already disabled" in err
        assert "disabled" in agents(team, capsys, monkeypatch, "list")[1].splitlines()[0]
        code, _, _ = agents(team, capsys, monkeypatch, "enable", "amy")
        assert code == 0
        back, csrf = await sign_in(s, "amy", PASSWORD)
        assert csrf
        await back.close()


def test_the_last_admin_stays(team: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    for action in ("disable", "remove"):
        code, _, err = agents(team, capsys, monkeypatch, action, "lin")
        assert code == 1 and "lin is the last admin" in err
    agents(team, capsys, monkeypatch, "add", "sue", "--role", "admin", password=PASSWORD)
    assert agents(team, capsys, monkeypatch, "disable", "lin")[0] == 0


def test_remove_refuses_open_cases_unless_they_move(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    owned_case(team, "2026CS000001", "agent:amy")
    owned_case(team, "2026CS000002", "agent:amy")
    code, _, err = agents(team, capsys, monkeypatch, "remove", "amy")
    assert code == 1 and "owns 2 open case(s) (2026CS000001, 2026CS000002)" in err
    assert "amy" in agents(team, capsys, monkeypatch, "list")[1]

    code, _, err = agents(team, capsys, monkeypatch, "remove", "amy", "--reassign-to", "zed")
    assert code == 1 and "no agent 'zed'" in err
    code, out, _ = agents(team, capsys, monkeypatch, "remove", "amy", "--reassign-to", "ben")
    assert code == 0 and "2 open case(s) went to ben" in out
    store = Store.open(team)
    cases = [store.get_case(n) for n in ("2026CS000001", "2026CS000002")]
    events = store.events("2026CS000001")
    store.close()
    assert [c.owner for c in cases if c] == ["agent:ben", "agent:ben"]
    assert events[-1]["kind"] == "reassigned" and events[-1]["data"]["from"] == "amy"
    listed = agents(team, capsys, monkeypatch, "list")[1]
    assert "amy" not in listed and "ben" in listed
    code, _, err = agents(team, capsys, monkeypatch, "add", "amy", password=PASSWORD)
    assert code == 1 and "choose another username" in err


def test_remove_can_send_cases_back_to_the_team(
        team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    owned_case(team, "2026CS000003", "agent:ben")
    code, out, _ = agents(team, capsys, monkeypatch, "remove", "ben", "--to-team")
    assert code == 0 and "went to the team's queue" in out
    store = Store.open(team)
    case = store.get_case("2026CS000003")
    store.close()
    assert case is not None and case.owner == "team"
