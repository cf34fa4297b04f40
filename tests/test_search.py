"""Search across cases on a real SQLite file: Chinese words of any length, order numbers,
case numbers, customers' names; what people type is never query syntax."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.search_cli import search_cases as cli_search
from bot.turns import handle_incoming
from bot.types import Incoming, Profile
from dialogs.model import Dialog
from storage.search import MAX_QUERY, MAX_TERMS, SearchError, migrate_search
from storage.store import Store
from tests.channels import serving
from tests.test_console import add_agent, sign_in

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
KETTLE = "我訂的電熱水壺到貨時外盒破損，壺身也有裂痕，訂單編號 TW88231"
EARPHONES = "耳機右邊沒有聲音，想要退款"


def say(store: Store, dialog: Dialog, text: str, *, user: str, event: str,
        at: datetime = NOW, name: str | None = None) -> None:
    incoming = Incoming(channel="line", user_id=user, event_id=event, received_at=at,
                        text=text, profile=Profile(display_name=name))
    with store.transaction():
        handle_incoming(store, dialog, incoming, at)


@pytest.fixture
def store(dialog: Dialog, fresh_store: Store) -> Store:
    """Two customers' cases: a cracked kettle (older), earphones with no sound (newer)."""
    store = fresh_store
    say(store, dialog, KETTLE, user="U1", event="e1", name="王小明")
    say(store, dialog, EARPHONES, user="U2", event="e2", at=NOW + timedelta(hours=1),
        name="Amy Lee")
    return store


def found(store: Store, query: str, limit: int = 20) -> list[str]:
    return [hit.case.number for hit in store.search_cases(query, limit)]


KETTLE_CASE, EARPHONES_CASE = "2026CS000001", "2026CS000002"


@pytest.mark.parametrize(("query", "expected"), [
    ("裂痕", [KETTLE_CASE]),                  # two characters: below what trigrams index
    ("退款", [EARPHONES_CASE]),
    ("貨", [KETTLE_CASE]),                    # one character
    ("外盒破損", [KETTLE_CASE]),              # through the trigram index
    ("電熱水壺", [KETTLE_CASE]),
    ("TW88231", [KETTLE_CASE]),               # the order number
    ("tw882", [KETTLE_CASE]),                 # any case, part of it
    ("ＴＷ８８２３１", [KETTLE_CASE]),          # typed full-width
    ("王小明", [KETTLE_CASE]),                # the customer's name
    ("小明", [KETTLE_CASE]),
    ("amy lee", [EARPHONES_CASE]),
    ("2026CS000002", [EARPHONES_CASE]),       # the case number, whole or in part
    ("CS000001", [KETTLE_CASE]),
    ("耳機 退款", [EARPHONES_CASE]),          # every word, in one case
    ("耳機 裂痕", []),
    ("2026CS", [EARPHONES_CASE, KETTLE_CASE]),   # newest first
])
def test_cases_are_found_by_what_people_remember(store: Store, query: str,
                                                  expected: list[str]) -> None:
    assert found(store, query) == expected


def test_a_hit_says_where_it_matched_with_the_words_around(store: Store) -> None:
    [hit] = store.search_cases("裂痕")
    assert (hit.field, hit.who) == ("message", "customer")
    assert "壺身也有裂痕" in hit.snippet
    [hit] = store.search_cases("小明")
    assert (hit.field, hit.snippet) == ("customer", "王小明")
    assert len(found(store, "2026CS", limit=1)) == 1


@pytest.mark.parametrize("typed", [
    '"', '""', '"裂痕', "裂痕\"", "OR", "AND", "NOT 退款", "*", "退*", "(退款", "退款)",
    "NEAR(耳機 退款)", "^退款", "text:退款", "{text}:退款", "%", "_", "\\", "'; DROP TABLE cases;--",
    "耳機 OR 裂痕", "-", "+", "裂痕 *",
])
def test_query_syntax_typed_by_a_person_is_only_text(store: Store, typed: str) -> None:
    assert found(store, typed) == []           # no error, and no wildcard or OR either


def test_punctuation_a_customer_wrote_is_found_as_written(store: Store, dialog: Dialog) -> None:
    say(store, dialog, '說好的 "50% off" 優惠 (限時) 沒有算進去 a_b', user="U3", event="e3",
        at=NOW + timedelta(hours=3))
    number = store.list_cases(limit=1)[0].number
    for typed in ('"50% off"', "50%", "(限時)", "a_b", "0%"):
        assert found(store, typed) == [number], typed
    assert found(store, "5_%") == []            # % and _ are not wildcards
    assert found(store, "a%b") == []


def test_a_full_width_order_number_is_found_as_typed_on_a_keyboard(store: Store,
                                                                    dialog: Dialog) -> None:
    say(store, dialog, "我的包裹還沒到，訂單編號 ＴＷ５５１２３", user="U3", event="e3",
        at=NOW + timedelta(hours=3))
    [hit] = store.search_cases("tw55123")
    assert (hit.case.number, hit.field, hit.snippet) == ("2026CS000003", "order", "TW55123")


@pytest.mark.parametrize(("query", "reason"), [
    ("", "type a case number"), ("   ", "type a case number"),
    ("字" * (MAX_QUERY + 1), f"at most {MAX_QUERY}"),
    (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), f"at most {MAX_TERMS}"),
])
def test_a_search_that_cannot_run_says_why(store: Store, query: str, reason: str) -> None:
    with pytest.raises(SearchError, match=reason):
        store.search_cases(query)


def test_the_index_follows_every_write_and_every_rollback(store: Store, dialog: Dialog) -> None:
    say(store, dialog, "另外訂單編號 TW77120 也一樣", user="U2", event="e4",
        at=NOW + timedelta(hours=2))
    assert found(store, "TW77120") == [EARPHONES_CASE]
    case = store.get_case(EARPHONES_CASE)
    assert case is not None and "TW77120" in case.details.get("order_numbers", [])
    with store.transaction():
        store.add_message(EARPHONES_CASE, "line:U2", "line", "out", NOW, text="已幫您安排換新耳機",
                          kind="agent")
    [hit] = store.search_cases("安排換新")
    assert (hit.case.number, hit.who) == (EARPHONES_CASE, "agent")
    with pytest.raises(ZeroDivisionError), store.transaction():
        say(store, dialog, "行動電源充不進電", user="U4", event="e5")
        _ = 1 / 0
    assert found(store, "行動電源") == []       # a turn kept not at all is not indexed either
    assert store.count_cases() == 2


def test_upgrading_indexes_the_records_already_kept(tmp_path: Path, dialog: Dialog) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    say(store, dialog, KETTLE, user="U1", event="e1", name="王小明")
    triggers = [r[0] for r in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (sql LIKE '%search%' "
        "OR sql LIKE '%case_terms%')")]
    for trigger in triggers:                                          # back to schema 6
        store.conn.execute(f"DROP TRIGGER {trigger}")
    for name in ("case_search", "message_search", "case_terms"):
        store.conn.execute(f"DROP TABLE {name}")
    store.conn.execute("PRAGMA user_version=6")
    store.close()
    again = Store.open(path)
    assert found(again, "裂痕") == found(again, "TW88231") == found(again, "王小明") == [KETTLE_CASE]
    with again.transaction():
        migrate_search(again.db)                    # run again (a renumbered migration): no harm
    assert found(again, "壺身") == found(again, "TW88231") == [KETTLE_CASE]
    assert again.conn.execute("SELECT count(*) FROM case_terms").fetchone()[0] == 1
    again.close()


def test_heard_cases_search(tmp_path: Path, dialog: Dialog) -> None:
    path = tmp_path / "records.db"
    store = Store.open(path)
    say(store, dialog, KETTLE + "，電話 0912-345-678", user="U1", event="e1", name="王小明")
    store.close()
    out, err = io.StringIO(), io.StringIO()
    assert cli_search(path, ["裂痕"], out, err) == 0
    assert KETTLE_CASE in out.getvalue() and "customer said:" in out.getvalue()
    assert "0912-345-678" not in out.getvalue()            # phones masked, as in heard cases
    out = io.StringIO()
    assert cli_search(path, ["退貨"], out, err) == 0
    assert out.getvalue().strip() == "no cases match 退貨"
    assert cli_search(path, [f"w{i}" for i in range(9)], io.StringIO(), err) == 2
    assert "at most 8" in err.getvalue()


async def test_the_console_search_api(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        async with s.http.get(f"{s.url}/console/api/search?q=x") as r:
            assert r.status == 401                           # agents only
        http, csrf = await sign_in(s, "amy")
        headers = {"X-CSRF-Token": csrf}
        try:
            async with http.get(f"{s.url}/console/api/search?q=x") as r:
                assert r.status == 403                       # with the CSRF header
            async with http.get(f"{s.url}/console/api/search", params={"q": ""},
                                headers=headers) as r:
                assert r.status == 400
                assert "type a case number" in (await r.json())["error"]
            async with http.get(f"{s.url}/console/api/search",
                                params={"q": "退款", "limit": "many"}, headers=headers) as r:
                assert r.status == 400
            async with http.get(f"{s.url}/console/api/search", params={"q": '"(*'},
                                headers=headers) as r:
                assert r.status == 200 and await r.json() == []
        finally:
            await http.close()



def test_heard_cases_search_on_the_command_line(tmp_path: Path, dialog: Dialog,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "records.db"
    store = Store.open(path)
    say(store, dialog, KETTLE, user="U1", event="e1", name="王小明")
    say(store, dialog, EARPHONES, user="U2", event="e2", at=NOW + timedelta(hours=1))
    store.close()
    assert main(["cases", "search", "壺身", "TW88231", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert KETTLE_CASE in out and EARPHONES_CASE not in out and "王小明" in out
    assert main(["cases", "search", "2026CS", "--limit", "1", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert EARPHONES_CASE in out and KETTLE_CASE not in out        # newest first, limited
    assert main(["cases", "search", "--db", str(path)]) == 2
    assert "heard cases search WORDS" in capsys.readouterr().err
    assert main(["cases", "show", KETTLE_CASE, "--db", str(path)]) == 0   # show still works
    assert "壺身也有裂痕" in capsys.readouterr().out


def _bot_words(store: Store, size: int) -> list[str]:
    """Runs of `size` Chinese characters the bot wrote in the kettle's case and no customer
    wrote anywhere."""
    said = "".join(r["text"] for r in store._rows(
        "SELECT text FROM messages WHERE direction = 'in' AND text IS NOT NULL"))
    runs = []
    for text in (r["text"] for r in store._rows(
            "SELECT text FROM messages WHERE case_number = ? AND direction = 'out'",
            [KETTLE_CASE])):
        runs += [text[i:i + size] for i in range(len(text) - size + 1)
                 if all("\u4e00" <= c <= "\u9fff" for c in text[i:i + size])
                 and text[i:i + size] not in said]
    assert runs, "the bot said something of its own in the kettle's case"
    return runs


def test_the_bots_own_texts_are_not_searched(store: Store) -> None:
    """Its texts are the dialog's, alike in every case: what people wrote is searched."""
    for size in (4, 2):                        # through the index, and the short-word scan
        for words in _bot_words(store, size)[:5]:
            assert found(store, words) == [], words
    if not store.LOCKS:                        # SQLite: the index holds the customers' two
        assert store.conn.execute("SELECT count(*) FROM message_search_docsize").fetchone() == (2,)


def test_upgrading_to_schema_12_drops_the_bots_texts_from_the_index(tmp_path: Path,
                                                                    dialog: Dialog) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    say(store, dialog, KETTLE, user="U1", event="e1", name="王小明")
    with store.transaction():
        store.add_message(KETTLE_CASE, "line:U1", "line", "out", NOW, text="已幫您安排換新水壺",
                          kind="agent")
    bot_words = _bot_words(store, 4)[0]
    sql = store.conn.execute                            # back to schema 11: every message
    for name in ("added", "changed", "removed"):
        sql(f"DROP TRIGGER message_search_{name}")
    sql("DROP TABLE message_search")
    sql("DROP VIEW people_said")
    sql("CREATE VIRTUAL TABLE message_search USING fts5(text, content='messages', "
        "content_rowid='id', tokenize='trigram')")
    sql("INSERT INTO message_search (message_search) VALUES ('rebuild')")
    sql("PRAGMA user_version=11")
    store.close()
    again = Store.open(path)
    assert again.schema_version == 12
    assert found(again, bot_words) == []
    assert found(again, "壺身也有") == found(again, "安排換新") == [KETTLE_CASE]
    indexed = again.conn.execute("SELECT count(*) FROM message_search_docsize").fetchone()[0]
    assert indexed == 2                                  # the customer's and the agent's
    again.close()
