"""What the console remembers for its people: which customer messages each agent has
seen on each case (read markers, so nothing a customer writes goes unnoticed), and the
notes agents keep on a customer (not on one case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.sql import SqlBase

NOTE_LIMIT = 2000
PREVIEW_CHARS = 80


def migrate_console_marks(db: sqlite_utils.Database) -> None:
    """Read markers (the last message id an agent saw on a case) and customer notes."""
    db.execute("CREATE TABLE IF NOT EXISTS read_marks (agent TEXT NOT NULL, "
               "case_number TEXT NOT NULL, message_id INTEGER NOT NULL, at TEXT NOT NULL, "
               "PRIMARY KEY (agent, case_number))")
    db.execute("CREATE TABLE IF NOT EXISTS customer_notes (id INTEGER PRIMARY KEY, "
               "customer_key TEXT NOT NULL, agent TEXT NOT NULL, text TEXT NOT NULL, "
               "at TEXT NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS customer_notes_key ON customer_notes "
               "(customer_key, id)")


class ConsoleMarksStore(SqlBase):
    """Mixed into `Store`: read markers, queue previews and customer notes."""


    def mark_read(self, agent: str, case_number: str, at: datetime) -> int:
        """The agent has seen every message of the case so far; returns the marker."""
        row = self._x("SELECT max(id) FROM messages WHERE case_number = ?",
                                (case_number,)).fetchone()
        last = int(row[0] or 0)
        self._x(
            "INSERT INTO read_marks (agent, case_number, message_id, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(agent, case_number) DO UPDATE SET "
            "message_id = CASE WHEN excluded.message_id > read_marks.message_id "
            "THEN excluded.message_id ELSE read_marks.message_id END, at = excluded.at",
            (agent, case_number, last, at.isoformat()))
        return last

    def queue_facts(self, agent: str, numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per case: customer messages the agent has not seen (`unread`), the customer's
        last words (`preview`), who wrote last and when (`last_from`, `last_at`), and since
        when the customer has been waiting for a person (`waiting_from`: their first
        message after the last agent reply)."""
        facts: dict[str, dict[str, Any]] = {}
        for number in numbers:
            seen = self._x(
                "SELECT message_id FROM read_marks WHERE agent = ? AND case_number = ?",
                (agent, number)).fetchone()
            unread = self._x(
                "SELECT count(*) FROM messages WHERE case_number = ? AND direction = 'in' "
                "AND id > ?", (number, int(seen[0]) if seen else 0)).fetchone()[0]
            last = self._x(
                "SELECT direction, kind, at FROM messages WHERE case_number = ? "
                "ORDER BY id DESC LIMIT 1", (number,)).fetchone()
            said = self._x(
                "SELECT text, payload FROM messages WHERE case_number = ? AND direction = 'in' "
                "ORDER BY id DESC LIMIT 1", (number,)).fetchone()
            answered = self._x(
                "SELECT coalesce(max(id), 0) FROM messages WHERE case_number = ? "
                "AND direction = 'out' AND kind = 'agent'", (number,)).fetchone()[0]
            waiting = self._x(
                "SELECT at FROM messages WHERE case_number = ? AND direction = 'in' AND id > ? "
                "ORDER BY id LIMIT 1", (number, answered)).fetchone()
            facts[number] = {
                "unread": int(unread),
                "preview": _preview(said[0] or said[1] or "") if said else "",
                "last_from": _author(last[0], last[1]) if last else None,
                "last_at": last[2] if last else None,
                "waiting_from": waiting[0] if waiting else None,
            }
        return facts

    def add_customer_note(self, customer_key: str, agent: str, text: str, at: datetime) -> int:
        text = text.strip()
        if not text:
            raise ValueError("a note needs some text")
        if len(text) > NOTE_LIMIT:
            raise ValueError(f"a note is at most {NOTE_LIMIT} characters ({len(text)} given)")
        return self._insert(
            "INSERT INTO customer_notes (customer_key, agent, text, at) VALUES (?, ?, ?, ?)",
            (customer_key, agent, text, at.isoformat()))

    def customer_notes(self, customer_key: str) -> list[dict[str, Any]]:
        return list(self._rows(
            "SELECT n.agent, coalesce(a.display_name, n.agent) AS agent_name, n.text, n.at "
            "FROM customer_notes n LEFT JOIN agents a ON a.username = n.agent "
            "WHERE n.customer_key = ? ORDER BY n.id", [customer_key]))

    def agent_names(self) -> dict[str, str]:
        """username -> display name, former agents included (their words stay theirs)."""
        return {str(r[0]): str(r[1] or r[0]) for r in
                self._x("SELECT username, display_name FROM agents")}


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS - 1] + "…"


def _author(direction: str, kind: str | None) -> str:
    if direction == "in":
        return "customer"
    return "agent" if kind == "agent" else "bot"
