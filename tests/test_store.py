"""The complaint records on a real SQLite file."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.turns import handle_incoming, run_due
from bot.types import Incoming
from dialogs.model import Dialog
from storage.migrations import SCHEMA_VERSION
from storage.store import Store

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def say(store: Store, dialog: Dialog, text: str = "", *, payload: str | None = None,
        user: str = "U1", event: str, at: datetime = NOW) -> None:
    incoming = Incoming(channel="line", user_id=user, event_id=event, received_at=at,
                        text=text, payload=payload, reply_token="rt-" + event)
    with store.transaction():
        handle_incoming(store, dialog, incoming, at)


def test_a_new_file_is_created_migrated_and_reopened(tmp_path: Path, dialog: Dialog) -> None:
    path = tmp_path / "sub" / "records.db"
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION
    say(store, dialog, "我買的加濕器壞了", event="e1")
    store.close()
    again = Store.open(path)
    assert again.count_cases() == 1
    assert again.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_records_from_a_newer_heard_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade Heard"):
        Store.open(path)


def test_case_numbers_are_year_and_serial_and_restart_each_year(fresh_store: Store) -> None:
    store = fresh_store
    with store.transaction():
        numbers = [store.next_case_number(2026) for _ in range(3)] + [store.next_case_number(2027)]
    assert numbers == ["2026CS000001", "2026CS000002", "2026CS000003", "2027CS000001"]


def test_a_failed_turn_leaves_nothing_behind(dialog: Dialog, fresh_store: Store) -> None:
    store = fresh_store
    with pytest.raises(ZeroDivisionError), store.transaction():
        handle_incoming(store, dialog, Incoming("line", "U1", "e1", NOW, text="包裹還沒到"), NOW)
        _ = 1 / 0
    assert store.count_cases() == 0
    assert not store.is_processed("line:e1")
    assert store.pending_outbox() == []


def test_a_failed_savepoint_keeps_the_rest_of_the_transaction(dialog: Dialog,
                                                              fresh_store: Store) -> None:
    store = fresh_store
    with store.transaction():
        handle_incoming(store, dialog, Incoming("line", "U1", "e1", NOW, text="包裹還沒到"), NOW)
        with pytest.raises(ValueError), store.transaction():
            handle_incoming(store, dialog, Incoming("line", "U2", "e2", NOW, text="耳機壞了"), NOW)
            raise ValueError("boom")
    assert store.count_cases() == 1
    assert store.is_processed("line:e1") and not store.is_processed("line:e2")


def test_a_turn_stores_case_messages_events_and_outbox_together(dialog: Dialog,
                                                                fresh_store: Store) -> None:
    store = fresh_store
    say(store, dialog, "訂單編號 A12345678 的咖啡機到貨就是壞的", event="e1")
    case = store.latest_case("line:U1")
    assert case is not None and case.stage == "confirming" and case.category == "product"
    messages = store.messages(case.number)
    assert [m["direction"] for m in messages] == ["in", "out", "out"]
    assert messages[0]["event_id"] == "e1"
    assert messages[2]["buttons"][0]["payload"] == "yes"
    kinds = [e["kind"] for e in store.events(case.number)]
    assert kinds[:2] == ["opened", "classified"] and "stage" in kinds
    outbox = store.pending_outbox()
    assert len(outbox) == 2 and all(row["reply_token"] == "rt-e1" for row in outbox)
    assert outbox[0]["user_id"] == "U1" and outbox[0]["channel"] == "line"
    store.mark_sent(outbox[0]["id"], NOW)
    store.mark_failed(outbox[1]["id"], "HTTP 500", NOW)
    assert store.pending_outbox() == []
    row = store.outbox_row(outbox[1]["id"])
    assert row is not None and row["status"] == "failed" and row["error"] == "HTTP 500"


def test_a_commitment_schedules_exactly_one_followup_that_is_sent_once(dialog: Dialog,
                                                                       fresh_store: Store) -> None:
    store = fresh_store
    say(store, dialog, "我買的果汁機按下開關完全沒反應", event="e1")
    say(store, dialog, payload="yes", event="e2")
    say(store, dialog, payload="remedy:exchange", event="e3")
    case = store.latest_case("line:U1")
    assert case is not None and case.stage == "committed" and case.followup_at is not None
    pending = store.pending_followups(case.number)
    assert len(pending) == 1
    assert store.due_followups(case.followup_at - timedelta(minutes=1)) == []
    later = case.followup_at + timedelta(minutes=1)
    with store.transaction():
        first = run_due(store, dialog, later)
    with store.transaction():
        second = run_due(store, dialog, later + timedelta(hours=1))
    sent = [r for r in first if any(e.kind == "followup_sent" for e in r.step.events)]
    assert len(sent) == 1 and second == []
    pushes = [row for row in store.pending_outbox() if row["kind"] == "push"]
    assert len(pushes) == 1 and case.number in pushes[0]["text"]


def test_recent_cases_are_newest_first_and_bounded_by_time(dialog: Dialog,
                                                           fresh_store: Store) -> None:
    store = fresh_store
    say(store, dialog, "我的包裹還沒到", event="e1", at=NOW)
    say(store, dialog, payload="yes", event="e1b", at=NOW)
    say(store, dialog, "第一個", event="e1c", at=NOW)
    say(store, dialog, "另外我被重複扣款了兩次", event="e2", at=NOW + timedelta(days=40))
    recent = store.recent_cases("line:U1", since=NOW + timedelta(days=10))
    assert len(recent) == 1
    everything = store.list_cases()
    assert [c.received_at for c in everything] == sorted((c.received_at for c in everything),
                                                         reverse=True)
    assert store.list_cases(category="logistics")[0].category == "logistics"


def test_export_has_every_record_field(dialog: Dialog, fresh_store: Store) -> None:
    store = fresh_store
    say(store, dialog, "我買的耳機有雜音，請打 0912-345-678", event="e1")
    out = io.StringIO()
    assert store.export_cases_csv(out) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert set(rows[0]) >= {"number", "stage", "category", "severity", "signals", "account",
                            "summary", "commitment", "due_at", "csat", "outcome"}
    assert rows[0]["category"] == "product"


def test_a_conversation_is_due_only_when_its_earliest_message_is(dialog: Dialog,
                                                                 fresh_store: Store) -> None:
    store = fresh_store
    received = NOW - timedelta(seconds=40)
    incoming = Incoming(channel="line", user_id="U1", event_id="e1", received_at=received,
                        text="耳機沒有聲音", reply_token="rt-e1")
    with store.transaction():
        handle_incoming(store, dialog, incoming, NOW)    # processed 40 s after it arrived
    say(store, dialog, "包裹還沒到", user="U2", event="e2")
    first, second = (r["id"] for r in store.pending_outbox() if r["user_id"] == "U1")
    assert store.outbox_row(first)["token_ts"] == received.timestamp()   # type: ignore[index]
    store.defer_outbox(first, NOW.timestamp() + 60, "LINE answered 500")
    due = store.due_outbox(NOW.timestamp())
    assert {r["user_id"] for r in due} == {"U2"}         # U1's second waits behind its first
    assert {r["id"] for r in store.due_outbox(NOW.timestamp() + 60) if r["user_id"] == "U1"} \
        == {first, second}
    assert store.due_outbox(NOW.timestamp() + 60, skip={"line:U1", "line:U2"}) == []


def test_reply_token_states_follow_the_calls(dialog: Dialog, fresh_store: Store) -> None:
    store = fresh_store
    say(store, dialog, "包裹還沒到", event="e1")
    row = store.pending_outbox()[0]["id"]

    def state() -> str | None:
        return store.outbox_row(row)["reply_state"]   # type: ignore[index]

    store.outbox_trying(row, "reply", True)
    assert state() == "trying"                          # a crash now leaves it in doubt
    store.defer_outbox(row, 0, "LINE answered 500")
    assert state() is None                              # answered: the token is unused
    store.outbox_trying(row, "reply", True)
    store.outbox_trying(row, "reply", True)             # tried again after a crash
    assert state() == "unknown"
    store.defer_outbox(row, 0, "LINE answered 500")
    assert state() == "unknown"                         # in doubt stays in doubt
    assert store.outbox_row(row)["attempts"] == 3       # type: ignore[index]


def test_outbox_totals_follow_every_change_and_survive_the_upgrade(tmp_path: Path,
                                                                  dialog: Dialog) -> None:
    """/healthz and /metrics read the per-status totals the triggers keep; they must agree
    with counting the rows, through sends, failures, deletes and an upgrade from schema 5."""
    path = tmp_path / "r.db"
    store = Store.open(path)
    say(store, dialog, "我買的加濕器壞了", event="e1")
    say(store, dialog, "耳機左耳沒聲音", user="U2", event="e2")

    def counted() -> dict[str, int]:
        rows = store.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
        return {status: n for status, n in rows}

    assert store.outbox_counts() == counted() == {"pending": 4}
    first, second, third = (row["id"] for row in store.pending_outbox()[:3])
    with store.transaction():
        store.mark_sent(first, NOW)
        store.mark_failed(second, "refused", NOW)
        store.mark_failed(third, "in doubt", NOW, "unconfirmed")
        store.mark_sent(first, NOW)                 # the same status again counts once
    assert store.outbox_counts() == counted() == {"pending": 1, "sent": 1, "failed": 1,
                                                  "unconfirmed": 1}
    with store.transaction():
        store.conn.execute("DELETE FROM outbox WHERE status = 'failed'")
    assert store.outbox_counts() == counted()
    # a schema-5 file with history is counted once when it is upgraded
    with store.transaction():
        store.conn.execute("DROP TABLE outbox_totals")
        for trigger in ("outbox_counted", "outbox_recounted", "outbox_uncounted"):
            store.conn.execute(f"DROP TRIGGER {trigger}")
        store.conn.execute("DROP INDEX idx_outbox_status_created_ts")
        store.conn.execute("PRAGMA user_version=5")
    store.close()
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.outbox_counts() == counted() == {"pending": 1, "sent": 1, "unconfirmed": 1}


def test_a_nul_typed_by_a_customer_is_kept_and_breaks_nothing(dialog: Dialog,
                                                              fresh_store: Store) -> None:
    """PostgreSQL's text cannot hold NUL (SQLite can): both keep it as U+FFFD."""
    store = fresh_store
    say(store, dialog, "耳機\x00沒有聲音", event="e1")
    case = store.list_cases()[0]
    said = [m["text"] for m in store.messages(case.number) if m["direction"] == "in"]
    assert said == ["耳機\ufffd沒有聲音"]
    assert store.list_cases(label="vip") == []          # the record still reads as JSON
    assert [hit.case.number for hit in store.search_cases("沒有聲音")] == [case.number]


def test_the_records_json_keeps_what_the_standard_library_kept() -> None:
    """Records' JSON is written and read by orjson; what it refuses or writes otherwise
    (a lone surrogate, NaN, a huge number, a non-string key, times, NumPy's numbers) comes
    back as the standard library's JSON would have had it."""
    import json
    import math
    from datetime import UTC, datetime

    import numpy as np

    from storage.sql import json_text, json_value

    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    awkward = {"lone": "壞\ud800了", "big": 2 ** 70, "at": at, "score": np.float64(0.25),
               "keys": {1: "one"}, "nul": "耳機\x00沒聲音", "text": "我的耳機壞了 😀"}
    for key, value in awkward.items():
        back = json_value(json_text({key: value}))[key]
        expected = json.loads(json.dumps({key: value}, ensure_ascii=False, default=str))[key]
        if key == "nul":
            expected = expected.replace("\x00", "\ufffd")
        assert back == expected, key
    assert math.isnan(json_value(json.dumps({"x": float("nan")}))["x"])   # written before
