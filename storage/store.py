"""The complaint records: one SQLite file (WAL), schema via sqlite-utils, migrations.

`Store` is used from one thread at a time: the writer's thread in the server, the only
thread in the CLI. Writes happen inside `transaction()`; `apply()` (storage/steps.py) stores
a whole engine step (case, messages, events, outbox, follow-ups, processed event id) in the
caller's transaction, so a turn is kept completely or not at all.

sqlite-utils' own write helpers commit on their own (`with conn:`), which would break an
enclosing transaction, so rows are written with plain SQL through `db.execute` and
sqlite-utils builds and migrates the schema and runs the queries.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.case import CaseState
from bot.team_time import in_zone
from storage import migrations
from storage.agent_accounts import AgentAccountStore
from storage.ahead import AheadStore
from storage.attachments import AttachmentStore
from storage.console_marks import ConsoleMarksStore
from storage.migrations import is_postgres, sqlite_path
from storage.outbox import OutboxStore
from storage.search import SearchStore
from storage.sign_ins import SignInStore
from storage.sql import clean, json_text, json_value
from storage.steps import (
    CASE_UPSERT,
    EVENT_INSERT,
    MESSAGE_INSERT,
    PROCESSED_INSERT,
    StepStore,
    case_row,
    event_row,
    message_row,
)

CASE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CaseState))


def _ts(moment: datetime) -> float:
    return moment.timestamp()


class Store(StepStore, OutboxStore, AgentAccountStore, SearchStore, AttachmentStore,
            ConsoleMarksStore, SignInStore, AheadStore):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._depth = 0

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (and create or migrate) the records at `path`: a file (or `sqlite:///file`;
        ":memory:" for tests), or a `postgresql://` URL (storage/postgres.py)."""
        if is_postgres(path):
            from storage.postgres import PgStore

            return PgStore.connect(str(path))
        path = sqlite_path(path)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        store = cls(conn)
        store._migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        for target in migrations.to_run(version):
            with self.transaction():
                migrations.SQLITE[target](self.db)
                self.conn.execute(f"PRAGMA user_version={target}")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; nested calls become savepoints."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0
            return
        name = f"sp{self._depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    def _x(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, clean(params))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, clean(params)))

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, (clean(r) for r in rows))

    # ------------------------------------------------------------ case numbers, dedupe

    def next_case_number(self, year: int) -> str:
        """2026CS000001, 2026CS000002, … one serial per year."""
        row = self._x(
            "INSERT INTO serials (year, last) VALUES (?, 1) "
            "ON CONFLICT(year) DO UPDATE SET last = serials.last + 1 RETURNING last", (year,),
        ).fetchone()
        return f"{year}CS{int(row[0]):06d}"

    def is_processed(self, key: str) -> bool:
        return self._x("SELECT 1 FROM processed_events WHERE key = ?", (key,)).fetchone() is not None

    def mark_processed(self, key: str, at: datetime) -> None:
        self._x(PROCESSED_INSERT, (key, at.isoformat()))

    # ------------------------------------------------------------ customers

    def upsert_customer(self, key: str, channel: str, user_id: str, name: str | None,
                        language: str | None, at: datetime) -> None:
        self._x(
            "INSERT INTO customers (key, channel, user_id, name, language, first_seen, "
            "last_seen, blocked) VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT(key) DO UPDATE SET "
            "name = coalesce(excluded.name, customers.name), language = coalesce(excluded.language, "
            "customers.language), last_seen = excluded.last_seen",
            (key, channel, user_id, name, language, at.isoformat(), at.isoformat()),
        )

    def customer(self, key: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM customers WHERE key = ?", [key]))
        return rows[0] if rows else None

    def set_blocked(self, key: str, blocked: bool) -> None:
        self._x("UPDATE customers SET blocked = ? WHERE key = ?", (int(blocked), key))

    # ------------------------------------------------------------ cases

    def save_case(self, case: CaseState) -> None:
        self._x(CASE_UPSERT, case_row(case))

    def commitments_overdue(self, now: datetime) -> list[CaseState]:
        """Committed cases whose promise is past due and not recorded as kept."""
        return self._cases("WHERE commit_due_ts IS NOT NULL AND commit_due_ts <= ?",
                           [_ts(now)], "ORDER BY commit_due_ts")

    def sla_due(self, now: datetime) -> list[CaseState]:
        """Handed-off cases nobody took within their first-response target."""
        return self._cases("WHERE response_due_ts IS NOT NULL AND response_due_ts <= ?",
                           [_ts(now)], "ORDER BY response_due_ts")

    def _cases(self, where: str, params: list[Any], tail: str = "") -> list[CaseState]:
        sql = f"SELECT record FROM cases {where} {tail}"
        return [CaseState.from_record(json_value(r[0])) for r in self._x(sql, params)]

    def get_case(self, number: str) -> CaseState | None:
        found = self._cases("WHERE number = ?", [number])
        return found[0] if found else None

    def conversation_of(self, number: str) -> str | None:
        row = self._x("SELECT conversation_key FROM cases WHERE number = ?", (number,)).fetchone()
        return str(row[0]) if row else None

    def case_for_change(self, number: str) -> CaseState | None:
        """The case, read to be changed in this transaction: with workers sharing
        PostgreSQL its conversation is locked first (a turn of it elsewhere commits
        before), then it is read."""
        case = self.get_case(number)
        if case is None or not self.LOCKS:
            return case
        self.lock("conversation " + case.conversation_key)
        return self.get_case(number)

    def latest_case(self, conversation_key: str) -> CaseState | None:
        found = self._cases("WHERE conversation_key = ?", [conversation_key],
                            "ORDER BY received_ts DESC, number DESC LIMIT 1")
        return found[0] if found else None

    def recent_cases(self, conversation_key: str, since: datetime) -> list[CaseState]:
        """This customer's cases received since `since`, newest first."""
        return self._cases("WHERE conversation_key = ? AND received_ts >= ?",
                           [conversation_key, _ts(since)], "ORDER BY received_ts DESC, number DESC")

    def list_cases(self, *, stage: str | None = None, category: str | None = None,
                   severity: str | None = None, since: datetime | None = None,
                   channel: str | None = None, owner: str | None = None,
                   label: str | None = None, limit: int = 50) -> list[CaseState]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("stage", stage), ("category", category), ("severity", severity),
                              ("channel", channel), ("owner", owner)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("received_ts >= ?")
            params.append(_ts(since))
        if label:
            clauses.append(self.LABEL_MATCH)
            params.append(label)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        params.append(limit)
        return self._cases(where, params, "ORDER BY received_ts DESC, number DESC LIMIT ?")

    def cases_between(self, start: datetime, end: datetime) -> list[CaseState]:
        """Every case received in [start, end), oldest first."""
        return self._cases("WHERE received_ts >= ? AND received_ts < ?",
                           [_ts(start), _ts(end)], "ORDER BY received_ts, number")

    def case_numbers_with_event(self, kind: str, start: datetime, end: datetime) -> set[str]:
        rows = self._x(
            "SELECT DISTINCT e.case_number FROM case_events e JOIN cases c "
            "ON c.number = e.case_number WHERE e.kind = ? AND c.received_ts >= ? "
            "AND c.received_ts < ?", (kind, _ts(start), _ts(end))).fetchall()
        return {str(r[0]) for r in rows}

    def count_cases(self) -> int:
        return int(self._x("SELECT count(*) FROM cases").fetchone()[0])

    # ------------------------------------------------------------ messages and events

    def add_message(self, case_number: str | None, conversation_key: str, channel: str,
                    direction: str, at: datetime, *, text: str | None = None,
                    payload: str | None = None, buttons: list[dict[str, str]] | None = None,
                    kind: str | None = None, event_id: str | None = None) -> int:
        return self._insert(MESSAGE_INSERT, message_row(
            case_number, conversation_key, channel, direction, at, text=text, payload=payload,
            buttons=buttons, kind=kind, event_id=event_id))

    def messages(self, case_number: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT id, direction, text, payload, buttons, kind, event_id, at FROM messages "
            "WHERE case_number = ? ORDER BY id", [case_number])
        out = []
        for row in rows:
            row["buttons"] = json_value(row["buttons"]) if row["buttons"] else []
            out.append(row)
        return out

    def add_event(self, case_number: str, kind: str, data: dict[str, Any], at: datetime) -> None:
        self._x(EVENT_INSERT, event_row(case_number, kind, data, at))

    def events(self, case_number: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT kind, data, at FROM case_events WHERE case_number = ? "
                             "ORDER BY id", [case_number])
        return [{**row, "data": json_value(row["data"])} for row in rows]

    # ------------------------------------------------------------ inbox

    def add_inbox(self, channel: str, event_key: str, conversation_key: str,
                  incoming: dict[str, Any], at: datetime) -> int | None:
        """Keep a received event before it is answered; None if it was received before."""
        new = self._insert(
            "INSERT INTO inbox (channel, event_key, conversation_key, incoming, status, "
            "received_at) VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            (channel, event_key, conversation_key, json_text(incoming), at.isoformat()),
        )
        return new or None

    def pending_inbox(self, limit: int = 10000, after: int = 0) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM inbox WHERE status = 'pending' AND id > ? "
                             "ORDER BY id LIMIT ?", [after, limit])
        return [{**row, "incoming": json_value(row["incoming"])} for row in rows]

    def next_inbox(self, conversation_key: str) -> dict[str, Any] | None:
        """The conversation's oldest event still waiting for its turn."""
        rows = self._rows("SELECT id, incoming FROM inbox WHERE conversation_key = ? "
                          "AND status = 'pending' ORDER BY id LIMIT 1", [conversation_key])
        return {**rows[0], "incoming": json_value(rows[0]["incoming"])} if rows else None

    def inbox_is_next(self, inbox_id: int, conversation_key: str) -> bool:
        row = self._x("SELECT min(id) FROM inbox WHERE conversation_key = ? "
                      "AND status = 'pending'", (conversation_key,)).fetchone()
        return bool(row) and row[0] == inbox_id

    def pending_conversations(self, received_before: datetime,
                              limit: int = 100_000) -> list[str]:
        """Conversations with an event accepted before `received_before` and not run yet,
        those waiting longest first, at most `limit`."""
        return [str(r[0]) for r in self._x(
            "SELECT conversation_key FROM inbox WHERE status = 'pending' AND received_at <= ? "
            "GROUP BY conversation_key ORDER BY min(id) LIMIT ?",
            (received_before.isoformat(), limit))]

    def inbox_text(self, inbox_id: int) -> str:
        """What the customer wrote in a kept event ("" for a button or a sticker)."""
        row = self._x("SELECT incoming FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
        return str(json_value(row[0]).get("text") or "") if row else ""

    def mark_inbox(self, inbox_id: int, status: str, at: datetime, error: str | None = None) -> None:
        self._x("UPDATE inbox SET status = ?, done_at = ?, error = ? WHERE id = ?",
                (status, at.isoformat(), error[:500] if error else None, inbox_id))

    def conversation_messages(self, conversation_key: str, after_id: int = 0,
                              limit: int = 500) -> list[dict[str, Any]]:
        """A conversation's messages both ways (the web chat's transcript)."""
        rows = self._rows(
            "SELECT id, case_number, direction, text, payload, buttons, at FROM messages "
            "WHERE conversation_key = ? AND id > ? ORDER BY id LIMIT ?",
            [conversation_key, after_id, limit])
        return [{**row, "buttons": json_value(row["buttons"]) if row["buttons"] else []}
                for row in rows]

    # ------------------------------------------------------------ follow-ups

    def schedule_followup(self, case_number: str, due_at: datetime, at: datetime) -> int:
        return self._insert(
            "INSERT INTO followups (case_number, due_at, due_ts, status, created_at) "
            "VALUES (?, ?, ?, 'pending', ?)",
            (case_number, due_at.isoformat(), _ts(due_at), at.isoformat()),
        )

    def cancel_followups(self, case_number: str, at: datetime) -> None:
        self._x("UPDATE followups SET status = 'cancelled', done_at = ? "
                "WHERE case_number = ? AND status = 'pending'", (at.isoformat(), case_number))

    def pending_followups(self, case_number: str) -> list[dict[str, Any]]:
        cursor = self._x("SELECT * FROM followups WHERE case_number = ? AND status = 'pending' "
                         "ORDER BY id", (case_number,))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def due_followups(self, now: datetime) -> list[dict[str, Any]]:
        return list(self._rows(
            "SELECT * FROM followups WHERE status = 'pending' AND due_ts <= ? "
            "ORDER BY due_ts, id", [_ts(now)]))

    def mark_followup(self, followup_id: int, status: str, at: datetime) -> None:
        self._x("UPDATE followups SET status = ?, done_at = ?, done_ts = ? WHERE id = ?",
                (status, at.isoformat(), _ts(at), followup_id))

    def move_followup(self, followup_id: int, due_at: datetime) -> None:
        self._x("UPDATE followups SET due_at = ?, due_ts = ? WHERE id = ?",
                (due_at.isoformat(), _ts(due_at), followup_id))

    def contacts_since(self, conversation_key: str, since: datetime) -> list[datetime]:
        """When follow-ups were sent to this customer since `since` (the contact cap)."""
        rows = self._x(
            "SELECT f.done_at FROM followups f JOIN cases c ON c.number = f.case_number "
            "WHERE c.conversation_key = ? AND f.status = 'sent' AND f.done_ts >= ? "
            "ORDER BY f.done_ts", (conversation_key, _ts(since))).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    # ------------------------------------------------------------ agents and sessions

    def add_agent(self, username: str, display_name: str, password_hash: str, role: str,
                  at: datetime) -> int:
        return self._insert(
            "INSERT INTO agents (username, display_name, password_hash, role, active, created_at) "
            "VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT(username) DO UPDATE SET "
            "display_name = excluded.display_name, password_hash = excluded.password_hash, "
            "role = excluded.role, active = 1",
            (username, display_name, password_hash, role, at.isoformat()))

    def agent(self, username: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM agents WHERE username = ? AND active = 1",
                                  [username]))
        return rows[0] if rows else None

    def agents(self) -> list[dict[str, Any]]:
        return list(self._rows(
            "SELECT id, username, display_name, role FROM agents WHERE active = 1 "
            "ORDER BY username"))

    def add_session(self, token_hash: str, agent_id: int, csrf: str, at: datetime,
                    expires_ts: float) -> None:
        self._x("INSERT INTO sessions (token_hash, agent_id, csrf, created_at, expires_ts) "
                "VALUES (?, ?, ?, ?, ?)", (token_hash, agent_id, csrf, at.isoformat(), expires_ts))

    def session(self, token_hash: str, now_ts: float) -> dict[str, Any] | None:
        rows = list(self._rows(
            "SELECT s.csrf, s.expires_ts, a.id, a.username, a.display_name, a.role "
            "FROM sessions s JOIN agents a ON a.id = s.agent_id "
            "WHERE s.token_hash = ? AND s.expires_ts > ? AND a.active = 1", [token_hash, now_ts]))
        return rows[0] if rows else None

    def end_session(self, token_hash: str) -> None:
        self._x("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # ------------------------------------------------------------ desk threads (Discord)

    def set_thread(self, desk: str, case_number: str, thread_id: str, at: datetime) -> None:
        self._x("INSERT INTO desk_threads (desk, case_number, thread_id, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (desk, case_number) DO UPDATE SET "
                "thread_id = excluded.thread_id, created_at = excluded.created_at",
                (desk, case_number, thread_id, at.isoformat()))

    def thread_for(self, desk: str, case_number: str) -> str | None:
        row = self._x("SELECT thread_id FROM desk_threads WHERE desk = ? AND case_number = ?",
                      (desk, case_number)).fetchone()
        return str(row[0]) if row else None

    def case_for_thread(self, desk: str, thread_id: str) -> str | None:
        row = self._x("SELECT case_number FROM desk_threads WHERE desk = ? AND thread_id = ?",
                      (desk, thread_id)).fetchone()
        return str(row[0]) if row else None

    # ------------------------------------------------------------ export

    def export_cases_csv(self, out: TextIO, tz: ZoneInfo | None = None) -> int:
        """Every case with every record field, oldest first; lists as JSON; text that a
        spreadsheet would run as a formula is neutralised (`csv_safe`). With `tz`, times
        are ISO 8601 in that zone (with its offset) and a last column names the zone."""
        names = [*CASE_FIELDS, *(["time_zone"] if tz else [])]
        writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        count = 0
        for (raw,) in self._x("SELECT record FROM cases ORDER BY received_ts, number"):
            record = json_value(raw)
            if tz is not None:
                record = {**in_zone(record, tz), "time_zone": tz.key}
            writer.writerow({
                # people read these cells: JSON spaced as the standard library writes it
                k: csv_safe(json.dumps(v, ensure_ascii=False, default=str)
                            if isinstance(v, list | dict) else v)
                for k, v in record.items()
            })
            count += 1
        return count


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would take for a formula (=, +, -, @, tab, CR first) gets a
    leading apostrophe, so `=HYPERLINK(...)` typed by a customer stays text. Numbers stay."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
