"""The records on PostgreSQL (`HEARD_DB=postgresql://…`): the same `Store`, with the few
things SQLite and PostgreSQL say differently.

Statements are written once with `?` placeholders (storage/sql.py) and turned into
psycopg's `%s` here. The connection is in autocommit mode and `transaction()` opens a real
transaction (nested: a savepoint), as on SQLite.

What is PostgreSQL's own:
- **Case numbers** come from a sequence per year (`heard_case_serial_2026`, created the
  first time that year needs one), so workers creating cases at once never queue on one
  row; a turn rolled back leaves a gap in the numbers, which nothing relies on.
- **Locks**: `lock(name)` takes a transaction-scoped advisory lock (the turns of one
  conversation, the sign-in limiter); `try_lock(name)` the same without waiting.
- **Search** matches with ILIKE over what people wrote (not the bot's texts) and the
  case's name and order numbers, made fast by the pg_trgm indexes (storage/pg_schema.py)
  instead of FTS5.
- **Migrations** run in one transaction under an advisory lock: every worker may run them
  at start, the first does the work and the others find it done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row

from storage import migrations
from storage.migrations import RecordsError
from storage.search import PEOPLE
from storage.sql import clean
from storage.store import Store

MIGRATION_LOCK = 0x48656172   # "Hear": the advisory lock migrations run under


@lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgStore(Store):
    LOCKS = True
    LABEL_MATCH = ("EXISTS (SELECT 1 FROM jsonb_array_elements_text(record::jsonb -> 'labels') "
                   "AS l(value) WHERE l.value = ?)")
    LABELS_IN_USE = ("SELECT l.value, count(*) FROM cases c, "
                     "jsonb_array_elements_text(c.record::jsonb -> 'labels') AS l(value) "
                     "GROUP BY l.value ORDER BY count(*) DESC, l.value")

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self.pg = conn
        self.url = url

    @classmethod
    def connect(cls, url: str, migrate: bool = True) -> PgStore:
        """Connect to `url` and (unless `migrate` is False: another connection of this
        process did) bring its schema up to date."""
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise RecordsError(f"cannot reach the PostgreSQL records: {_reason(exc)}") from exc
        store = cls(conn, url)
        if migrate:
            store._migrate()
        return store

    @property
    def lost(self) -> bool:
        """The connection is gone (the server restarted, or the network broke)."""
        return bool(self.pg.broken or self.pg.closed)

    def close(self) -> None:
        self.pg.close()

    def _migrate(self) -> None:
        with self.transaction():
            self._x("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            self._x("CREATE TABLE IF NOT EXISTS heard_schema (version INTEGER NOT NULL)")
            row = self._x("SELECT version FROM heard_schema").fetchone()
            version = int(row[0]) if row else 0
            for target in migrations.to_run(version):
                for statement in migrations.POSTGRES.get(target, ()):
                    self.pg.execute(statement)
            if row is None:
                self._x("INSERT INTO heard_schema (version) VALUES (?)", (migrations.SCHEMA_VERSION,))
            else:
                self._x("UPDATE heard_schema SET version = ?", (migrations.SCHEMA_VERSION,))

    @property
    def schema_version(self) -> int:
        row = self._x("SELECT version FROM heard_schema").fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.pg.transaction():
            yield

    # ------------------------------------------------------------ statements

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.pg.execute(pg_sql(sql), clean(params))

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.pg.cursor(row_factory=dict_row) as cur:
            return cur.execute(pg_sql(sql), clean(params)).fetchall()

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.pg.cursor() as cur:
            cur.executemany(pg_sql(sql), [clean(r) for r in rows])

    # ------------------------------------------------------------ PostgreSQL's own

    def lock(self, name: str) -> None:
        self._x("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))

    def try_lock(self, name: str) -> bool:
        return bool(self._x("SELECT pg_try_advisory_xact_lock(hashtextextended(?, 0))",
                            (name,)).fetchone()[0])

    def next_case_number(self, year: int) -> str:
        """2026CS000001, 2026CS000002, … one sequence per year."""
        sequence = f"heard_case_serial_{int(year)}"
        for _ in range(3):
            try:
                with self.transaction():
                    row = self._x(f"SELECT nextval('{sequence}')").fetchone()
                return f"{year}CS{int(row[0]):06d}"
            except psycopg.errors.UndefinedTable:
                pass
            try:
                with self.transaction():
                    self._x(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
                pass          # another worker created it at the same moment
        raise RuntimeError(f"could not number a case for {year}")

    def _term_cases(self, term: str) -> tuple[str, list[Any]]:
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return ("SELECT case_number FROM messages WHERE text ILIKE ? ESCAPE '\\' AND "
                + PEOPLE.format(row="messages") + " "
                "UNION SELECT number FROM cases WHERE number ILIKE ? ESCAPE '\\' "
                "OR (record::jsonb ->> 'customer_name') ILIKE ? ESCAPE '\\' "
                "OR heard_orders(record) ILIKE ? ESCAPE '\\'",
                [like, like, like, like])


def _reason(exc: Exception) -> str:
    """The driver's message without the password a URL may carry."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
