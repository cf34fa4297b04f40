"""What every store module needs from its database, whichever it is: `_x` runs one
statement (with `?` placeholders) and returns its cursor, `_rows` returns the rows as
dicts, `_many` runs one statement for many rows, `_insert` returns the new row's id.

The statements themselves are written once, in the SQL both SQLite (3.35 or later) and
PostgreSQL understand (`INSERT … ON CONFLICT`, `RETURNING`); where they differ, the
class attributes below say how (storage/store.py for SQLite, storage/postgres.py for
PostgreSQL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import orjson

# A NUL character as JSON writes it (an odd number of backslashes before "u0000").
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
# What the standard library wrote: times and dataclasses by `str`, NumPy's numbers (the
# model's scores) as numbers.
_ORJSON = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
           | orjson.OPT_SERIALIZE_NUMPY)


def json_text(value: Any) -> str:
    """`value` as JSON for the records. A NUL a customer typed is kept as U+FFFD: no
    meaning is lost, and PostgreSQL's text and jsonb cannot hold a NUL. orjson writes it
    (a case record in 1.4 against 11 µs); what orjson refuses (a lone surrogate from a
    webhook's JSON, an integer beyond 64 bits, a key that is not a string) is written by
    the standard library as before."""
    try:
        text = orjson.dumps(value, default=str, option=_ORJSON).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        text = json.dumps(value, ensure_ascii=False, default=str)
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def json_value(text: str | bytes) -> Any:
    """JSON from the records, read by orjson (a case record in 2.7 against 7.5 µs); what
    orjson refuses (NaN, an integer beyond 64 bits) is read by the standard library."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def clean(params: Sequence[Any]) -> Sequence[Any]:
    """Statement parameters as stored: a NUL a customer typed is kept as U+FFFD on both
    back ends (PostgreSQL's text cannot hold one)."""
    for p in params:
        if isinstance(p, str) and "\x00" in p:
            break
    else:
        return params     # the common case: nothing to change, nothing copied
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params)


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
