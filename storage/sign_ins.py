"""Failed sign-ins, kept in the records so that every worker (on every machine) counts
the same attempts: the console's limiter (adapters/guard.py) reads and writes them here.

An attempt is written *before* the password is checked and taken back when it was right,
so concurrent guesses cannot all slip past a limit only raised after each slow check; the
keys are locked for the transaction (on PostgreSQL an advisory lock, on SQLite the single
writer), so two workers counting at once cannot both let the last guess through.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from storage.sql import SqlBase

POSTGRES_11 = (
    "CREATE TABLE login_failures (key TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX idx_login_failures_key_ts ON login_failures (key, ts)",
)


def migrate_sign_ins(db: sqlite_utils.Database) -> None:
    """Schema 11: sign-in attempts shared by every worker."""
    db.execute("CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, ts REAL NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_login_failures_key_ts ON login_failures (key, ts)")


class SignInStore(SqlBase):
    def count_attempt(self, limits: Sequence[tuple[str, int]], now: float,
                      window: float) -> bool:
        """Count an attempt now against each (key, limit); False (nothing counted) when a
        key already has `limit` attempts within `window` seconds."""
        for key, _ in sorted(limits):
            self.lock("sign-in " + key)
        self._x("DELETE FROM login_failures WHERE ts < ?", (now - window,))
        for key, limit in limits:
            row = self._x("SELECT count(*) FROM login_failures WHERE key = ? AND ts >= ?",
                          (key, now - window)).fetchone()
            if int(row[0]) >= limit:
                return False
        self._many("INSERT INTO login_failures (key, ts) VALUES (?, ?)",
                   [(key, now) for key, _ in limits])
        return True

    def forgive_attempt(self, keys: Sequence[str], stamp: float) -> None:
        """A right password: the attempt made at `stamp` counts against nobody."""
        for key in keys:
            self._x("DELETE FROM login_failures WHERE key = ? AND ts = ?", (key, stamp))
