"""What is PostgreSQL's own in the store: the schema matches SQLite's, migrations are safe
from every worker at once, case numbers stay unique when workers create cases at once,
and a wrong address is a clear error. (Everything else runs on both back ends in
tests/test_store.py and tests/test_search.py through the `fresh_store` fixture.)"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.migrations import SCHEMA_VERSION
from storage.store import Store

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
# Search is built differently on each back end (storage/pg_schema.py).
SQLITE_ONLY = {"case_terms"}


def test_both_back_ends_have_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    lite = Store.open(tmp_path / "r.db")
    tables = [r[0] for r in lite.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' "
        "AND name NOT LIKE '%search%'")]
    sqlite_columns = {t: {r[1] for r in lite.conn.execute(f"PRAGMA table_info({t})")}
                      for t in tables if t not in SQLITE_ONLY}
    pg = Store.open(pg_url)
    pg_columns: dict[str, set[str]] = {}
    for table, column in pg._x("SELECT table_name, column_name FROM information_schema.columns "
                               "WHERE table_schema = 'public' AND table_name <> 'heard_schema'"):
        pg_columns.setdefault(table, set()).add(column)
    assert pg_columns == sqlite_columns
    assert pg.schema_version == lite.schema_version == SCHEMA_VERSION


def test_every_worker_may_migrate_at_start_at_once(pg_url: str) -> None:
    opened: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            store = Store.open(pg_url)
            opened.append(store.schema_version)
            store.close()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=start) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert opened == [SCHEMA_VERSION] * 6


def test_case_numbers_stay_unique_when_workers_number_cases_at_once(pg_url: str) -> None:
    Store.open(pg_url).close()
    numbers: list[str] = []

    def number_cases() -> None:
        store = Store.open(pg_url)
        for _ in range(40):
            with store.transaction():
                numbers.append(store.next_case_number(2026))
        store.close()

    workers = [threading.Thread(target=number_cases) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(numbers) == 160 and len(set(numbers)) == 160
    assert sorted(numbers)[0] == "2026CS000001"
    store = Store.open(pg_url)
    assert store.next_case_number(2027) == "2027CS000001"    # each year starts again


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(RuntimeError) as caught:
        Store.open("postgresql://heard:s3cret-pw@127.0.0.1:1/records")
    assert "cannot reach the PostgreSQL records" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)


def test_heard_serve_says_in_one_line_that_it_cannot_reach_the_records(tmp_path: Path) -> None:
    url = "postgresql://heard:s3cret-pw@127.0.0.1:1/records"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "1", "--port", "0"],
        env={**os.environ, "HEARD_DB": url, "HEARD_MODEL_DIR": str(tmp_path)}, cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "error: cannot reach the PostgreSQL records" in done.stderr
    assert "Traceback" not in done.stderr and "s3cret-pw" not in done.stderr + done.stdout


async def test_the_writer_comes_back_after_postgresql_drops_its_connections(pg_url: str) -> None:
    """A server restart drops every connection: the next jobs and reads work again."""
    import psycopg

    from storage.pg_writer import PgWriter

    writer = PgWriter(pg_url)
    await writer.start()
    try:
        await writer.run(lambda s: s.upsert_customer("web:a", "web", "a", "阿明", None, NOW))
        assert (await writer.read(lambda s: s.customer("web:a")))["name"] == "阿明"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        written = 0
        for i in range(12):            # at most one job per dropped connection fails
            try:
                await writer.run(lambda s, i=i: s.upsert_customer(
                    f"web:b{i}", "web", f"b{i}", None, None, NOW))
                written += 1
            except psycopg.OperationalError:
                pass
        assert written >= 12 - 6       # 6 writer connections, each fails one job at most
        for _ in range(2):             # the read connection that was dropped is replaced
            with contextlib.suppress(psycopg.OperationalError):
                await writer.read(lambda s: s.customer("web:a"))
        assert (await writer.read(lambda s: s.customer("web:a")))["name"] == "阿明"
        await writer.run(lambda s: s.upsert_customer("web:c", "web", "c", "小美", None, NOW))
        assert (await writer.read(lambda s: s.customer("web:c")))["name"] == "小美"
    finally:
        await writer.stop()
