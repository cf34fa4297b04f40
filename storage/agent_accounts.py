"""Agent accounts as admins look after them: every account (disabled and removed ones too),
new passwords, disabling (which ends the account's sessions at once), removing, and what a
person did on cases (the per-agent report reads it).

A removed account keeps its row (marked `removed_at`) so that case histories, which name
agents by username, stay readable and the name is never handed to somebody else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.sql import SqlBase

# What a person does on a case, as the case's events name it (bot/agents.py).
PERSON_EVENTS = ("claimed", "transferred", "agent_reply", "resolved", "handed_back")


def migrate_agent_accounts(db: sqlite_utils.Database) -> None:
    """Agents: when an account was disabled or removed (history keeps naming them)."""
    agents = db.table("agents")
    columns = {c.name for c in agents.columns}
    for name in ("disabled_at", "removed_at"):
        if name not in columns:
            agents.add_column(name, str)


class AgentAccountStore(SqlBase):
    """Mixed into `Store`; writes run in the caller's transaction like every store write."""


    def account(self, username: str) -> dict[str, Any] | None:
        """The account by this name, whatever its state (active, disabled, removed)."""
        rows = list(self._rows(
            "SELECT id, username, display_name, role, active, created_at, disabled_at, "
            "removed_at FROM agents WHERE username = ?", [username]))
        return rows[0] if rows else None

    def accounts(self) -> list[dict[str, Any]]:
        """Every account not removed, disabled ones included, by username."""
        return list(self._rows(
            "SELECT id, username, display_name, role, active, created_at, disabled_at "
            "FROM agents WHERE removed_at IS NULL ORDER BY username"))

    def create_agent(self, username: str, display_name: str, password_hash: str, role: str,
                     at: datetime) -> int:
        """A new account; the caller checked the name is free (the unique index stays the
        last word: a race raises sqlite3.IntegrityError rather than overwriting)."""
        return self._insert(
            "INSERT INTO agents (username, display_name, password_hash, role, active, "
            "created_at) VALUES (?, ?, ?, ?, 1, ?)",
            (username, display_name, password_hash, role, at.isoformat()))

    def set_password(self, username: str, password_hash: str) -> None:
        """A new password; the account's open sessions end (somebody may know the old one)."""
        self._x("UPDATE agents SET password_hash = ? WHERE username = ?",
                          (password_hash, username))
        self.end_sessions(username)

    def set_active(self, username: str, active: bool, at: datetime) -> None:
        self._x(
            "UPDATE agents SET active = ?, disabled_at = ? WHERE username = ?",
            (int(active), None if active else at.isoformat(), username))
        if not active:
            self.end_sessions(username)

    def mark_removed(self, username: str, at: datetime) -> None:
        self._x(
            "UPDATE agents SET active = 0, removed_at = ?, password_hash = '' WHERE username = ?",
            (at.isoformat(), username))
        self.end_sessions(username)

    def end_sessions(self, username: str) -> int:
        cur = self._x(
            "DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE username = ?)",
            (username,))
        return cur.rowcount

    def active_admins(self) -> list[str]:
        return [str(r[0]) for r in self._x(
            "SELECT username FROM agents WHERE role = 'admin' AND active = 1 "
            "AND removed_at IS NULL ORDER BY username")]

    def open_cases_of(self, username: str) -> list[str]:
        """The numbers of the handed-off cases this person owns, oldest first."""
        return [str(r[0]) for r in self._x(
            "SELECT number FROM cases WHERE stage = 'handoff' AND owner = ? "
            "ORDER BY received_ts, number", (f"agent:{username}",))]

    def person_events(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """What people did on the cases received in [start, end), in order: the case number,
        the event's kind, its data and when."""
        marks = ",".join("?" for _ in PERSON_EVENTS)
        rows = self._x(
            f"SELECT e.case_number, e.kind, e.data, e.at FROM case_events e JOIN cases c "
            f"ON c.number = e.case_number WHERE e.kind IN ({marks}) AND c.received_ts >= ? "
            f"AND c.received_ts < ? ORDER BY e.id",
            (*PERSON_EVENTS, start.timestamp(), end.timestamp())).fetchall()
        return [{"case": str(r[0]), "kind": str(r[1]), "data": json.loads(r[2]),
                 "at": datetime.fromisoformat(r[3])} for r in rows]
