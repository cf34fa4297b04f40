"""A throwaway PostgreSQL server for the tests that need one.

The server's own binaries (Debian's `postgresql`, installed by .ci/run) run `initdb` in a
temporary folder and `pg_ctl start` on a free port on 127.0.0.1, once per test session;
each test gets a fresh, empty database on it (`pg_url`). Where the binaries are missing (a
developer's machine) those tests are skipped with the reason; in CI (`CI` set) they fail
instead, because there they must run.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (created
by the Debian package) or `nobody`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from storage.store import Store

SUPERUSER = "heard"


def server_binaries() -> Path | None:
    """The folder with initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def needs_postgres() -> Path:
    """The server binaries' folder; skips (or, in CI, fails) when there are none."""
    folder = server_binaries()
    if folder is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's postgresql for the PostgreSQL tests "
                               "(.ci/run installs it)")
        pytest.skip("PostgreSQL's server binaries are not installed "
                    "(apt-get install -y postgresql): the PostgreSQL tests are skipped")
    pytest.importorskip("psycopg")
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> list[str]:
    """The command prefix that runs the server's programs as somebody other than root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("PostgreSQL cannot run as root and there is no postgres user")


class Server:
    """One PostgreSQL server in a temporary folder, on 127.0.0.1:`port`."""

    def __init__(self, folder: Path, durable: bool = False) -> None:
        """`durable`: PostgreSQL's defaults (every commit flushed to disk), for
        benchmarks; the tests' server skips the flushes (nothing here outlives a test)."""
        self.bin = folder
        self.durable = durable
        self.port = _free_port()
        self.home = Path(tempfile.mkdtemp(prefix="heard-pg-"))
        self.data = self.home / "data"
        self.prefix = _as_server_user()
        if self.prefix:
            user = self.prefix[2]
            entry = pwd.getpwnam(user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        run = [*self.prefix]
        subprocess.run([*run, str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                        "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, capture_output=True)
        options = (f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=300")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run([*run, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                        "-l", str(self.home / "server.log"), "-o", options, "start"],
                       check=True, capture_output=True)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "stop"], check=False, capture_output=True,
                           timeout=60)
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, template: str | None = None) -> str:
        """A fresh database (empty, or a copy of the database `template`); its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        copy = f" TEMPLATE {template}" if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{copy}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    server = Server(needs_postgres())
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        raise RuntimeError(f"the test PostgreSQL did not start: {exc.stderr!r}") from exc
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """A fresh, empty database on the session's throwaway PostgreSQL."""
    return pg_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store on each back end: the store tests run on both."""
    from storage.store import Store

    target = ":memory:" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = Store.open(target)
    yield store
    store.close()
