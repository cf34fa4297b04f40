"""`heard serve --workers N`: the work split over processes, so every core is used.

One process in Python runs on one core (the GIL), and a customer message costs about as
much on the HTTP side (webhook, signature, JSON, the platform call that sends the reply,
the delivery journal) as in the turn (understanding, engine, the turn's writes): see
docs/architecture.md for the profile. So the split is by that line:

- the **turn worker** (one: SQLite has one writer of turns) reads accepted events from
  the inbox in order, runs each conversation's turns and the timers;
- **HTTP workers** (N - 1, sharing one listening socket) take webhooks, the web chat and
  the console, keep each event in the inbox before answering, and deliver the replies.

They talk through the store; a pipe carries only a cheap wake-up ("look at the inbox",
"this conversation has replies", "tell the desks about this case"). A lost wake-up costs
a second at most: both sides also look on their own every second. The supervisor (this
module) binds the port once, starts the workers, restarts one that dies and stops them
all on SIGTERM/SIGINT. Killing any worker loses nothing: an event is answered 200 only
once it is in the inbox, a turn is one transaction, and a reply's try is on record before
it is made (the same guarantees as one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

ROLE_ENV = "HEARD_WORKER"          # "turns" or "http:<index>:<count>"; unset: one process
WAKE_IN_ENV = "HEARD_WAKE_IN"      # the pipe this worker reads
WAKE_OUT_ENV = "HEARD_WAKE_OUT"    # the pipes it writes, comma separated
SOCKET_ENV = "HEARD_LISTEN_FD"     # the listening socket (HTTP workers)
RESTART_DELAY = (0.2, 10.0)        # a worker that keeps dying is restarted less eagerly
STOP_GRACE = 20.0                  # seconds the workers get to finish on SIGTERM
# A worker's writer thread holds the records' file lock while it runs; when it needs the
# GIL back from the event loop's thread, Python's default 5 ms switch interval keeps the
# lock held (and the other process waiting) that long. 1 ms: LINE at 50 senders, 5 runs
# each, median 697 -> 825 messages/s, CPU per message 1.6-2.0 -> 1.5-1.7 ms.
SWITCH_INTERVAL = 0.001


def owner(conversation_key: str, count: int) -> int:
    """Which HTTP worker delivers this conversation (always the same one)."""
    return zlib.crc32(conversation_key.encode()) % count if count > 1 else 0


class Wake:
    """Short JSON lines over inherited pipes, never blocking: a full pipe (its reader dead
    or far behind) drops the line, which the reader's own periodic look makes up for."""

    def __init__(self, read_fd: int | None, write_fds: list[int]) -> None:
        self.read_fd, self.write_fds = read_fd, write_fds
        self._buffer = b""
        self._pending: dict[int, dict[bytes, None]] = {}   # fd -> lines (in order, once)

    @classmethod
    def from_env(cls) -> Wake:
        read = os.environ.get(WAKE_IN_ENV)
        writes = [int(x) for x in os.environ.get(WAKE_OUT_ENV, "").split(",") if x]
        return cls(int(read) if read else None, writes)

    def send(self, message: dict[str, Any], to: int | None = None) -> None:
        """To every reader, or to reader `to` only. Inside a running loop, the lines of one
        moment (a batch of turns settles together) go out together at the end of it, each
        line once: a write per pipe per moment instead of one per line."""
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        targets = self.write_fds if to is None else [self.write_fds[to]]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for fd in targets:
                self._write(fd, line)
            return
        if not self._pending:
            loop.call_soon(self.flush)
        for fd in targets:
            self._pending.setdefault(fd, {})[line] = None

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for fd, lines in pending.items():
            chunk = b""
            for line in lines:
                if chunk and len(chunk) + len(line) > select.PIPE_BUF:
                    self._write(fd, chunk)
                    chunk = b""
                chunk += line
            if chunk:
                self._write(fd, chunk)

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        """Whole lines, at most PIPE_BUF bytes: written whole or not at all, never mixed
        with another worker's writes to the same pipe."""
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            os.write(fd, data)

    def listen(self, handle: Callable[[dict[str, Any]], None]) -> None:
        if self.read_fd is None:
            return
        fd = self.read_fd

        def readable() -> None:
            try:
                self._buffer += os.read(fd, 65536)
            except BlockingIOError:
                return
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                try:
                    handle(message)
                except Exception:
                    log.exception("workers: handling %r failed", message)

        asyncio.get_running_loop().add_reader(fd, readable)

    def close(self) -> None:
        self.flush()
        if self.read_fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.read_fd)


def role() -> tuple[str, int, int]:
    """("one", 0, 1) in a single process; ("turns", 0, 1) (its HTTP workers are its
    pipes, `Wake.write_fds`); ("http", index, count); ("peer", index, count): one of
    `count` identical workers over PostgreSQL (bot/shared.py)."""
    value = os.environ.get(ROLE_ENV, "")
    if value == "turns":
        return "turns", 0, 1
    if value.startswith(("http:", "peer:")):
        kind, index, count = value.split(":")
        return kind, int(index), int(count)
    return "one", 0, 1


# ---------------------------------------------------------------- the supervisor


def _die_with_parent() -> None:
    """Run in the child before exec: SIGTERM when the supervisor dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


class Supervisor:
    def __init__(self, argv: list[str], host: str, port: int, workers: int,
                 peers: bool = False) -> None:
        self.argv, self.host, self.port = argv, host, port
        self.peers = workers if peers else 0   # PostgreSQL: N identical workers
        self.http_count = max(1, workers - 1)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.started: dict[str, float] = {}
        self.failures: dict[str, int] = {}
        self.stopping = False
        self.specs: dict[str, tuple[dict[str, str], tuple[int, ...]]] = {}

    def run(self) -> int:
        listener = socket.create_server((self.host, self.port), backlog=2048, reuse_port=False)
        listener.set_inheritable(True)
        if self.peers:
            self.specs = {f"peer-{i}": ({ROLE_ENV: f"peer:{i}:{self.peers}",
                                         SOCKET_ENV: str(listener.fileno())},
                                        (listener.fileno(),)) for i in range(self.peers)}
            return self._supervise()
        turns_r, turns_w = _pipe()
        http_pipes = [_pipe() for _ in range(self.http_count)]
        self.specs = {
            "turns": ({ROLE_ENV: "turns", WAKE_IN_ENV: str(turns_r),
                       WAKE_OUT_ENV: ",".join(str(w) for _, w in http_pipes)},
                      (turns_r, *(w for _, w in http_pipes))),
        }
        for i, (r, _) in enumerate(http_pipes):
            self.specs[f"http-{i}"] = (
                {ROLE_ENV: f"http:{i}:{self.http_count}", WAKE_IN_ENV: str(r),
                 WAKE_OUT_ENV: str(turns_w), SOCKET_ENV: str(listener.fileno())},
                (r, turns_w, listener.fileno()))
        return self._supervise()

    def _supervise(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for name in self.specs:
            self._start(name)
        log.info("heard serve: %s on %s:%d", f"{self.peers} workers" if self.peers else
                 f"{self.http_count} HTTP worker(s) and a turn worker", self.host, self.port)
        while not self.stopping:
            for name, child in list(self.children.items()):
                code = child.poll()
                if code is not None and not self.stopping:
                    self._restart(name, code)
            time.sleep(0.1)
        return self._wait_all()

    def _start(self, name: str) -> None:
        env, fds = self.specs[name]
        self.children[name] = subprocess.Popen(
            self.argv, env={**os.environ, **env}, pass_fds=fds, preexec_fn=_die_with_parent)
        self.started[name] = time.monotonic()

    def _restart(self, name: str, code: int) -> None:
        quick = time.monotonic() - self.started[name] < 5.0
        self.failures[name] = self.failures.get(name, 0) + 1 if quick else 1
        delay = min(RESTART_DELAY[1], RESTART_DELAY[0] * 2 ** (self.failures[name] - 1))
        log.error("heard serve: the %s worker exited (%s); starting it again in %.1f s", name,
                  code, delay)
        time.sleep(delay)
        if not self.stopping:
            self._start(name)

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _wait_all(self) -> int:
        """HTTP workers stop taking requests and finish theirs; then the turn worker
        finishes the accepted events."""
        http = [c for n, c in self.children.items() if n != "turns"]
        for child in http:
            _signal(child, signal.SIGTERM)
        _wait(http, STOP_GRACE)
        turns = [c for n, c in self.children.items() if n == "turns"]
        for child in turns:
            _signal(child, signal.SIGTERM)
        _wait(turns, STOP_GRACE)
        return 0


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    for fd in (r, w):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, True)
    return r, w


def _signal(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(sig)


def _wait(children: list[subprocess.Popen[bytes]], seconds: float) -> None:
    end = time.monotonic() + seconds
    for child in children:
        try:
            child.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("heard serve: worker %d did not stop in time; killing it", child.pid)
            child.kill()
            child.wait()


def main_argv() -> list[str]:
    """The command that starts a worker: this same `heard serve`, with its options."""
    return [sys.executable, "-m", "bot.cli", *sys.argv[1:]]
