"""Reads and claims for turns worked out ahead of their write (bot/turns.py `prepare_turn`):
the engine runs on a read of the records outside the write lock, and the turn is written
only if what it read is still so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.sql import SqlBase

Snapshot = tuple[tuple[str, str], ...]


class AheadStore(SqlBase):
    def last_case_serial(self, year: int) -> int:
        """The year's last case number handed out (0: none yet)."""
        row = self._x("SELECT last FROM serials WHERE year = ?", (year,)).fetchone()
        return int(row[0]) if row else 0

    def claim_case_number(self, number: str) -> bool:
        """Take a number handed out ahead of its turn: False if a case already has it; else
        the year's serial moves up to it (never down)."""
        if self._x("SELECT 1 FROM cases WHERE number = ?", (number,)).fetchone():
            return False
        year, serial = int(number[:4]), int(number[6:])
        self._x("INSERT INTO serials (year, last) VALUES (?, ?) ON CONFLICT(year) DO UPDATE "
                "SET last = CASE WHEN excluded.last > serials.last THEN excluded.last "
                "ELSE serials.last END", (year, serial))
        return True

    def case_records(self, conversation_key: str, since: datetime | None = None) -> Snapshot:
        """The conversation's latest case (with `since`: its cases received since then) as
        stored, to tell later whether it changed."""
        sql = "SELECT number, record FROM cases WHERE conversation_key = ?"
        params: list[Any] = [conversation_key]
        if since is None:
            sql += " ORDER BY received_ts DESC, number DESC LIMIT 1"
        else:
            sql += " AND received_ts >= ? ORDER BY received_ts DESC, number DESC"
            params.append(since.timestamp())
        return tuple((str(n), str(r)) for n, r in self._x(sql, params))
