"""The schema of the records, for both back ends, in one place: `SCHEMA_VERSION`, the
SQLite migrations (sqlite-utils builds and alters the tables) and the PostgreSQL ones
(plain SQL). A new version adds a step to both, with the same number.

PostgreSQL support starts at version 10: its first step creates everything SQLite's
steps 1-10 built, so both reach the same tables and columns (tests/test_postgres_store.py
compares them). Every step runs in its own transaction with the version it reaches, so a
crash leaves the records at the last finished version; on PostgreSQL the whole run holds
an advisory lock, so every worker may run the migrations at start at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils

from storage.agent_accounts import migrate_agent_accounts
from storage.attachments import migrate_attachments
from storage.console_marks import migrate_console_marks
from storage.outbox import migrate_5, migrate_6
from storage.pg_schema import POSTGRES_12, SCHEMA_10
from storage.search import migrate_people_search, migrate_search
from storage.sign_ins import POSTGRES_11, migrate_sign_ins

SCHEMA_VERSION = 12
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class RecordsError(RuntimeError):
    """The records cannot be used as they are (unreachable, or newer than this Heard): the
    message says what is wrong, for a person to fix."""


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_PREFIXES)


def sqlite_path(target: str | Path) -> str | Path:
    """`sqlite:///data/heard.db` (or `sqlite:////abs/path`) is the file `data/heard.db`."""
    if isinstance(target, str) and target.startswith("sqlite://"):
        return target.removeprefix("sqlite://").removeprefix("/") or ":memory:"
    return target


def shown(target: str | Path) -> str:
    """Where the records are, fit for a log or a banner: a URL's password is hidden."""
    if not is_postgres(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def to_run(version: int) -> range:
    """The versions to step through from `version`; refuses records newer than this Heard."""
    if version > SCHEMA_VERSION:
        raise RecordsError(f"the records are schema version {version}; this Heard knows "
                           f"up to {SCHEMA_VERSION}: upgrade Heard")
    return range(version + 1, SCHEMA_VERSION + 1)


def _migrate_1(db: sqlite_utils.Database) -> None:
    db.table("customers").create({
        "key": str, "channel": str, "user_id": str, "name": str, "language": str,
        "first_seen": str, "last_seen": str, "blocked": int,
    }, pk="key", defaults={"blocked": 0})
    db.table("serials").create({"year": int, "last": int}, pk="year")
    db.table("cases").create({
        "number": str, "conversation_key": str, "channel": str, "stage": str,
        "category": str, "severity": str, "locale": str, "owner": str, "risk": float,
        "summary": str, "received_at": str, "received_ts": float, "updated_at": str,
        "record": str,
    }, pk="number")
    db.table("cases").create_index(["conversation_key", "received_ts"])
    db.table("cases").create_index(["stage"])
    db.table("cases").create_index(["received_ts"])
    db.table("messages").create({
        "id": int, "case_number": str, "conversation_key": str, "channel": str,
        "direction": str, "event_id": str, "text": str, "payload": str, "buttons": str,
        "kind": str, "at": str,
    }, pk="id")
    db.table("messages").create_index(["case_number", "id"])
    db.table("case_events").create({
        "id": int, "case_number": str, "kind": str, "data": str, "at": str,
    }, pk="id")
    db.table("case_events").create_index(["case_number", "id"])
    db.table("followups").create({
        "id": int, "case_number": str, "due_at": str, "due_ts": float, "status": str,
        "created_at": str, "done_at": str,
    }, pk="id")
    db.table("followups").create_index(["status", "due_ts"])
    db.table("followups").create_index(["case_number"])
    db.table("outbox").create({
        "id": int, "case_number": str, "conversation_key": str, "channel": str,
        "user_id": str, "text": str, "buttons": str, "kind": str, "reply_token": str,
        "status": str, "attempts": int, "created_at": str, "sent_at": str, "error": str,
    }, pk="id", defaults={"attempts": 0})
    db.table("outbox").create_index(["status", "id"])
    db.table("processed_events").create({"key": str, "at": str}, pk="key")


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Channels: the inbox of raw events, and outbox retries (retry key, next try)."""
    db.table("inbox").create({
        "id": int, "channel": str, "event_key": str, "conversation_key": str,
        "incoming": str, "status": str, "received_at": str, "done_at": str, "error": str,
    }, pk="id")
    db.table("inbox").create_index(["event_key"], unique=True)
    db.table("inbox").create_index(["status", "id"])
    outbox = db.table("outbox")
    outbox.add_column("retry_key", str)
    outbox.add_column("created_ts", float)
    outbox.add_column("next_try_ts", float)
    db.execute("UPDATE outbox SET next_try_ts = 0, created_ts = 0")


def _migrate_3(db: sqlite_utils.Database) -> None:
    """The agent desk: agents, their sessions, SLA timers on cases, Discord threads."""
    cases = db.table("cases")
    cases.add_column("response_due_ts", float)
    cases.create_index(["response_due_ts"])
    db.table("agents").create({
        "id": int, "username": str, "display_name": str, "password_hash": str, "role": str,
        "active": int, "created_at": str,
    }, pk="id", defaults={"active": 1})
    db.table("agents").create_index(["username"], unique=True)
    db.table("sessions").create({
        "token_hash": str, "agent_id": int, "csrf": str, "created_at": str, "expires_ts": float,
    }, pk="token_hash")
    db.table("desk_threads").create({
        "case_number": str, "desk": str, "thread_id": str, "created_at": str,
    }, pk=("desk", "case_number"))
    db.table("desk_threads").create_index(["desk", "thread_id"], unique=True)


def _migrate_4(db: sqlite_utils.Database) -> None:
    """Follow-up rules: when each follow-up went out (contact caps), overdue commitments."""
    db.table("followups").add_column("done_ts", float)
    cases = db.table("cases")
    cases.add_column("commit_due_ts", float)
    cases.create_index(["commit_due_ts"])


SQLITE: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4, 5: migrate_5, 6: migrate_6,
    7: migrate_agent_accounts, 8: migrate_search, 9: migrate_attachments,
    10: migrate_console_marks, 11: migrate_sign_ins, 12: migrate_people_search,
}
# PostgreSQL: the statements of each step (versions before 10 never existed there).
POSTGRES: dict[int, tuple[str, ...]] = {10: SCHEMA_10, 11: POSTGRES_11, 12: POSTGRES_12}
