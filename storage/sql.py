"""What every store module needs from its database, whichever it is: `_x` runs one
statement (with `?` placeholders) and returns its cursor, `_rows` returns the rows as
dicts, `_many` runs one statement for many rows, `_insert` returns the new row's id.

The statements themselves are written once, in the SQL both SQLite (3.35 or later) and
PostgreSQL understand (`INSERT … ON CONFLICT`, `RETURNING`); where they differ, the
class attributes below say how (storage/store.py for SQLite, storage/postgres.py for
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlBase:
    LOCKS = False       # True: other writers work at the same time (PostgreSQL)
    # Cases carrying a label (one `?`: the label).
    LABEL_MATCH = "EXISTS (SELECT 1 FROM json_each(record, '$.labels') WHERE value = ?)"
    # Every label on some case, with how many cases carry it.
    LABELS_IN_USE = ("SELECT l.value, count(*) FROM cases c, json_each(c.record, '$.labels') l "
                     "GROUP BY l.value ORDER BY count(*) DESC, l.value")

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def lock(self, name: str) -> None:
        """Hold `name` until the transaction ends, waiting for whoever holds it. SQLite has
        one writer at a time, so there is nothing to wait for; PostgreSQL: an advisory lock."""

    def try_lock(self, name: str) -> bool:
        """Take `name` for the transaction if nobody holds it (SQLite: always)."""
        return True

    def _insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """An INSERT; the new row's `id` (0 when the row was not written)."""
        found = self._x(sql + " RETURNING id", params).fetchall()
        return int(found[0][0]) if found else 0
