"""The outbox: messages to send, what each try was, and what came of it.

A row is `pending` until the platform accepted it (`sent`), refused it or it grew too old
(`failed`), or its fate cannot be known (`unconfirmed`, see `reply_state`). The delivery
worker records every try *before* the platform call and its outcome right after it, so a
crash leaves a trace of exactly the calls whose outcome was never seen.

`reply_state` says what is known about the row's reply token:

- NULL: never sent to the platform, or every send was answered with a failure (unused);
- `trying`: a reply with it is under way; found after a restart, the process died
  mid-call and the reply may have reached the customer;
- `unknown`: an earlier reply's fate is unknown (sticky): the token may only be tried
  again, never replaced by a push that could say the same thing twice;
- `dead`: the platform refused the token with nothing in doubt: push from now on.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.sql import SqlBase, json_value
from storage.steps import OUTBOX_INSERT, outbox_row

DOUBTFUL = ("trying", "unknown")


def migrate_5(db: sqlite_utils.Database) -> None:
    """Schema 5: when each reply token was received, what is known about it, and an index
    for finding each conversation's next message."""
    outbox = db.table("outbox")
    outbox.add_column("token_ts", float)
    outbox.add_column("reply_state", str)
    db.execute("UPDATE outbox SET token_ts = created_ts WHERE reply_token IS NOT NULL")
    outbox.create_index(["status", "conversation_key", "id"])


def migrate_6(db: sqlite_utils.Database) -> None:
    """Schema 6: how many messages are in each status, kept by triggers as rows change, so
    /healthz and /metrics read a handful of rows instead of counting the whole history;
    and an index for the oldest message still waiting."""
    db.execute("CREATE TABLE outbox_totals (status TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute("INSERT INTO outbox_totals (status, n) "
               "SELECT status, count(*) FROM outbox GROUP BY status")
    add = ("INSERT INTO outbox_totals (status, n) VALUES ({status}, {delta}) "
           "ON CONFLICT(status) DO UPDATE SET n = n + excluded.n;")
    db.execute("CREATE TRIGGER outbox_counted AFTER INSERT ON outbox BEGIN "
               + add.format(status="NEW.status", delta=1) + " END")
    db.execute("CREATE TRIGGER outbox_recounted AFTER UPDATE OF status ON outbox "
               "WHEN OLD.status IS NOT NEW.status BEGIN "
               + add.format(status="OLD.status", delta=-1)
               + add.format(status="NEW.status", delta=1) + " END")
    db.execute("CREATE TRIGGER outbox_uncounted AFTER DELETE ON outbox BEGIN "
               + add.format(status="OLD.status", delta=-1) + " END")
    db.table("outbox").create_index(["status", "created_ts"])


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row with its buttons read back from JSON."""
    return {**row, "buttons": json_value(row["buttons"] or "[]")}


class OutboxStore(SqlBase):
    """Mixed into `Store`; runs in the caller's transaction like every store write."""


    def enqueue(self, case_number: str | None, conversation_key: str, channel: str,
                user_id: str, text: str, buttons: list[dict[str, str]], kind: str,
                reply_token: str | None, at: datetime,
                token_at: datetime | None = None) -> int:
        """A message to send (`storage.steps.outbox_row`)."""
        return self._insert(OUTBOX_INSERT, outbox_row(
            case_number, conversation_key, channel, user_id, text, buttons, kind, reply_token,
            at, token_at))

    def due_outbox(self, now_ts: float, skip: Collection[str] = (), limit: int = 500,
                   channels: Collection[str] | None = None,
                   conversations: int = 500) -> list[dict[str, Any]]:
        """Every pending message (up to `limit`) of each conversation whose *earliest*
        pending message is due, oldest first: a later message never overtakes one waiting
        to be retried. At most `conversations` conversations, those waiting longest; those
        in `skip` (being sent right now) are left out; with `channels`, only those channels.
        Each row has `blocked`: the customer blocked the bot."""
        where = ""
        params: list[Any] = [now_ts]
        if skip:
            where += f" AND h.conversation_key NOT IN ({','.join('?' * len(skip))})"
            params.extend(skip)
        if channels is not None:
            where += f" AND h.channel IN ({','.join('?' * len(channels))})"
            params.extend(channels)
        rows = self._rows(
            "WITH heads AS (SELECT conversation_key, min(id) AS head FROM outbox "
            "WHERE status = 'pending' GROUP BY conversation_key), "
            "due AS (SELECT heads.conversation_key, heads.head FROM heads "
            f"JOIN outbox h ON h.id = heads.head WHERE h.next_try_ts <= ?{where} "
            "ORDER BY heads.head LIMIT ?) "
            "SELECT o.*, coalesce(c.blocked, 0) AS blocked FROM due "
            "JOIN outbox o ON o.conversation_key = due.conversation_key AND o.status = 'pending' "
            "LEFT JOIN customers c ON c.key = o.conversation_key "
            "ORDER BY o.id LIMIT ?", [*params, conversations, limit])
        return [_decoded(row) for row in rows]

    def conversations_due(self, keys: Collection[str], now_ts: float,
                          limit: int = 500) -> dict[str, list[dict[str, Any]]]:
        """For each conversation, its pending messages oldest first if its earliest is due
        (else none): what `due_outbox` gives for these conversations, from the index."""
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
        marks = ",".join("?" * len(found))
        rows = self._rows(
            "SELECT o.*, coalesce(c.blocked, 0) AS blocked FROM outbox o "
            "LEFT JOIN customers c ON c.key = o.conversation_key "
            f"WHERE o.status = 'pending' AND o.conversation_key IN ({marks}) ORDER BY o.id",
            list(found))
        for row in rows:
            found[row["conversation_key"]].append(row)
        return {key: [_decoded(row) for row in rows_[:limit]]
                if rows_ and rows_[0]["next_try_ts"] <= now_ts else []
                for key, rows_ in found.items()}

    def outbox_trying(self, outbox_id: int, via: str, count: bool) -> None:
        """Recorded before a platform call. `via` "reply": the token goes out now (a token
        already in doubt stays in doubt); "push": the token is given up."""
        state = {"reply": "CASE WHEN reply_state IS NULL THEN 'trying' ELSE 'unknown' END",
                 "push": "CASE WHEN reply_token IS NULL THEN NULL ELSE 'dead' END"}.get(
                     via, "reply_state")
        self._x(f"UPDATE outbox SET reply_state = {state}, "
                          "attempts = attempts + ? WHERE id = ?", (int(count), outbox_id))

    def defer_outbox(self, outbox_id: int, next_try_ts: float, error: str,
                     answered: bool = True) -> None:
        """Try again at `next_try_ts`. `answered`: the platform answered this try with a
        temporary failure, so a reply made now did not land and its token is unused again.
        Otherwise (no call was made, or it ended some other way) a reply found under way
        stays in doubt."""
        state = "NULL" if answered else "'unknown'"
        self._x(
            "UPDATE outbox SET next_try_ts = ?, error = ?, reply_state = CASE WHEN "
            f"reply_state = 'trying' THEN {state} ELSE reply_state END WHERE id = ?",
            (next_try_ts, error[:500], outbox_id))

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self._x("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?",
                          (at.isoformat(), outbox_id))

    def mark_failed(self, outbox_id: int, error: str, at: datetime,
                    status: str = "failed") -> None:
        """Given up (`failed`), or not knowable (`unconfirmed`): kept, never sent again."""
        self._x("UPDATE outbox SET status = ?, error = ?, sent_at = ? WHERE id = ?",
                          (status, error[:500], at.isoformat(), outbox_id))

    def outbox_counts(self) -> dict[str, int]:
        """Messages per status (kept by triggers, see `migrate_6`): a few rows, however
        long the history."""
        rows = self._x("SELECT status, n FROM outbox_totals WHERE n > 0").fetchall()
        return {str(status): int(n) for status, n in rows}

    def oldest_pending_ts(self) -> float | None:
        """When the oldest message still waiting to go out was written."""
        row = self._x(
            "SELECT min(created_ts) FROM outbox WHERE status = 'pending'").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def pending_outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?",
                             [limit])
        return [_decoded(row) for row in rows]

    def outbox_row(self, outbox_id: int) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
        return _decoded(rows[0]) if rows else None
