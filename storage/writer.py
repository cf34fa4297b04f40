"""One writer thread for the records, so nothing blocks the event loop.

`await writer.run(fn)` runs `fn(store)` on the writer's thread inside a savepoint of a
shared transaction and returns once that transaction is durably committed. Jobs that
arrive while a commit is under way are grouped into the next one (group commit): with
synchronous=FULL every commit is an fsync, so grouping is what makes many simultaneous
conversations fast without weakening durability. A job that raises is rolled back alone
(its savepoint) and its exception is raised to its caller; the others still commit.

A job may come with a `prepare(store)` that does its heavy reading and thinking first (a
turn's engine work, bot/turns.py `prepare_turn`): prepares run on the writer's thread
outside any transaction and outside the write lock, and the job itself then only checks
and writes. Webhooks that arrived meanwhile are committed before the prepared jobs.

With `batch_seconds`, a batch is also closed after that much work: the write lock is held
while a batch runs, and a turn worker's batches should not keep another worker's short
webhook writes waiting (within one process, urgent jobs go first anyway, and whole batches
are faster). Processes take turns at the file through an exclusive lock on
`<records>.lock` around every transaction: the waiting writer sleeps in the kernel and
wakes the moment the lock is free, instead of SQLite's busy handler polling with growing
sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from storage.store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_BATCH = 64

# (fn, its future, the future's loop, urgent, prepare: None once done or when there is none)
_Job = tuple[Callable[[Store], Any], asyncio.Future[Any], asyncio.AbstractEventLoop, bool,
             Callable[[Store], None] | None]


class Writer:
    prepares = True     # jobs may bring a `prepare` run outside the write lock

    def __init__(self, path: str | Path, batch_seconds: float | None = None) -> None:
        self.path = path
        self.batch_seconds = batch_seconds
        self.commits = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._read_store: Store | None = None
        self._read_lock = threading.Lock()
        self._file_lock: int | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="heard-writer", daemon=True)
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._error is not None:
            raise self._error

    async def stop(self) -> None:
        """Finish every job already queued, then close."""
        if self._thread is None:
            return
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        if self._read_store is not None:
            self._read_store.close()
            self._read_store = None

    async def run(self, fn: Callable[[Store], T], *, urgent: bool = False,
                  prepare: Callable[[Store], None] | None = None) -> T:
        """Run `fn(store)` in the next group commit. `urgent` jobs (short writes someone
        is waiting on, like keeping a webhook before answering it) are committed ahead of
        the rest of their batch. `prepare(store)`, if given, runs before, outside the write
        lock and any transaction (reads only; an exception in it is ignored: `fn` must
        manage without it; urgent jobs are not prepared)."""
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop, urgent, None if urgent else prepare))
        return await future

    async def read(self, fn: Callable[[Store], T]) -> T:
        """Run a read on its own connection (WAL lets it run beside the writer)."""
        def work() -> T:
            with self._read_lock:
                if self._read_store is None:
                    self._read_store = Store.open(self.path)
                return fn(self._read_store)
        return await asyncio.to_thread(work)

    # ------------------------------------------------------------ the thread

    def _loop(self) -> None:
        try:
            if str(self.path) != ":memory:":
                self._file_lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            with self._locked():
                store = Store.open(self.path)
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping, carry = False, list[_Job]()
            while carry or not stopping:
                if not carry:
                    first = self._queue.get()
                    if first is None:
                        break
                    carry.append(first)
                stopping = self._gather(carry, stopping)
                carry = self._urgent_first(store, carry)
                if any(job[4] is not None for job in carry):
                    carry = self._prepare(store, carry)
                    stopping = self._gather(carry, stopping)   # webhooks that came meanwhile
                    carry = self._urgent_first(store, carry)
                if carry:
                    carry = carry[self._commit(store, carry, self.batch_seconds):]
        finally:
            store.close()
            if self._file_lock is not None:
                os.close(self._file_lock)
                self._file_lock = None

    def _gather(self, carry: list[_Job], stopping: bool) -> bool:
        """Queued jobs into `carry`, without waiting, up to a batch; True once told to stop."""
        while not stopping and len(carry) < MAX_BATCH:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stopping = True
            else:
                carry.append(job)
        return stopping

    def _urgent_first(self, store: Store, carry: list[_Job]) -> list[_Job]:
        """Commit the urgent jobs of `carry` now; returns the others."""
        urgent = [job for job in carry if job[3]]
        if not urgent:
            return carry
        self._commit(store, urgent, budget=None)
        return [job for job in carry if not job[3]]

    def _prepare(self, store: Store, carry: list[_Job]) -> list[_Job]:
        """Run the jobs' prepares (each once), outside the write lock, until the batch's
        time is spent: the prepared ones are committed before more are prepared, so their
        results flow out in small steps instead of one long batch."""
        done, started = [], time.perf_counter()
        for job in carry:
            prepare = job[4]
            if prepare is not None and not self._spent(started):
                try:
                    prepare(store)
                except Exception:   # the job works it out under the lock, and reports it
                    log.debug("a job's prepare failed; it runs unprepared", exc_info=True)
                job = (*job[:4], None)
            done.append(job)
        return done

    def _spent(self, started: float) -> bool:
        return self.batch_seconds is not None and time.perf_counter() - started > self.batch_seconds

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The file's write turn among processes (see the module's docstring)."""
        if self._file_lock is None:
            yield
            return
        fcntl.flock(self._file_lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file_lock, fcntl.LOCK_UN)

    def _commit(self, store: Store, batch: list[_Job], budget: float | None) -> int:
        """Jobs in one transaction, from the first, until `budget` seconds of work are
        spent (None: all of them) or up to one still to be prepared; returns how many ran.
        Optimistically without a savepoint each; if one fails, those jobs are rolled back
        and replayed with a savepoint per job, so only the failing job's work is lost."""
        results: list[tuple[bool, Any]] = []
        attempted = 0
        with self._locked():
            try:
                with store.transaction():
                    started = time.perf_counter()
                    for fn, _future, _loop, _urgent, prepare in batch:
                        if prepare is not None:    # came after the prepares: next batch
                            break
                        attempted += 1
                        results.append((True, fn(store)))
                        if budget is not None and time.perf_counter() - started > budget:
                            break
                self.commits += 1
            except Exception:
                results = self._replay(store, batch[:attempted])
        self._answer(batch[:attempted], results)
        return attempted

    def _replay(self, store: Store, batch: list[_Job]) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        try:
            with store.transaction():
                for fn, *_ in batch:
                    try:
                        with store.transaction():
                            results.append((True, fn(store)))
                    except Exception as exc:
                        results.append((False, exc))
            self.commits += 1
        except Exception as exc:  # the commit itself failed: nobody's work is kept
            results = [(False, exc)] * len(batch)
        return results

    def _answer(self, batch: list[_Job], results: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (ok, value), (_, future, loop, *_rest) in zip(results, batch, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():   # one wake-up per loop, not one per job
            loop.call_soon_threadsafe(settle, settled)


def settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def open_writer(target: str | Path, batch_seconds: float | None = None) -> Writer:
    """The writer for the records at `target`: a SQLite file, or a `postgresql://` URL
    (storage/pg_writer.py, the same interface)."""
    from storage.migrations import is_postgres, sqlite_path

    if is_postgres(target):
        from storage.pg_writer import PgWriter

        return PgWriter(str(target))  # type: ignore[return-value]
    return Writer(sqlite_path(target), batch_seconds=batch_seconds)
