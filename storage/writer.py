"""One writer thread for the records, so nothing blocks the event loop.

`await writer.run(fn)` runs `fn(store)` on the writer's thread inside a savepoint of a
shared transaction and returns once that transaction is durably committed. Jobs that
arrive while a commit is under way are grouped into the next one (group commit): with
synchronous=FULL every commit is an fsync, so grouping is what makes many simultaneous
conversations fast without weakening durability. A job that raises is rolled back alone
(its savepoint) and its exception is raised to its caller; the others still commit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from storage.store import Store

T = TypeVar("T")
MAX_BATCH = 64

_Job = tuple[Callable[[Store], Any], asyncio.Future[Any], asyncio.AbstractEventLoop, bool]


class Writer:
    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.commits = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._read_store: Store | None = None
        self._read_lock = threading.Lock()

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

    async def run(self, fn: Callable[[Store], T], *, urgent: bool = False) -> T:
        """Run `fn(store)` in the next group commit. `urgent` jobs (short writes someone
        is waiting on, like keeping a webhook before answering it) are committed ahead of
        the rest of their batch."""
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop, urgent))
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
            store = Store.open(self.path)
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                        break
                    batch.append(job)
                urgent = [job for job in batch if job[3]]
                if urgent:
                    self._commit(store, urgent)
                    batch = [job for job in batch if not job[3]]
                if batch:
                    self._commit(store, batch)
        finally:
            store.close()

    def _commit(self, store: Store, batch: list[_Job]) -> None:
        """All jobs in one transaction. Optimistically without a savepoint each; if one
        fails, the whole batch is rolled back and replayed with a savepoint per job, so
        only the failing job's work is lost."""
        results: list[tuple[bool, Any]] = []
        try:
            with store.transaction():
                results = [(True, fn(store)) for fn, *_ in batch]
            self.commits += 1
        except Exception:
            results = self._replay(store, batch)
        self._answer(batch, results)

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
        for (ok, value), (_, future, loop, _urgent) in zip(results, batch, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():   # one wake-up per loop, not one per job
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
