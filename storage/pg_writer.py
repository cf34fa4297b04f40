"""The writer's interface (storage/writer.py) on PostgreSQL: `await run(fn)` runs
`fn(store)` in a transaction of its own and returns once it is committed; `read(fn)` runs
on a connection without a transaction.

SQLite has one writer, so the SQLite writer groups jobs into one commit on one thread.
PostgreSQL takes many writers at once (and groups their commits itself), so here a few
threads each run one job per transaction on their own connection: a job that waits for a
lock (an agent's action on a case in a turn elsewhere) holds up only its own thread.
Urgent jobs (a webhook kept before it is answered) have threads of their own, so they
never wait behind turns. A job that PostgreSQL stops to break a deadlock or a
serialization conflict is run again from the start, up to `ATTEMPTS` times. A connection
the server dropped (a restart) is replaced before the next job: the job that met the loss
fails (its caller sees the error; an event's turn stays in the inbox and runs again), the
ones after it do not.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from storage.postgres import PgStore
from storage.writer import settle

log = logging.getLogger(__name__)

T = TypeVar("T")
THREADS = 4
URGENT_THREADS = 2
ATTEMPTS = 3

_Job = tuple[Callable[[PgStore], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


class PgWriter:
    def __init__(self, url: str, threads: int = THREADS) -> None:
        self.path = url
        self.threads = threads
        self.commits = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._urgent: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._running: list[threading.Thread] = []
        self._readers: queue.SimpleQueue[PgStore] = queue.SimpleQueue()
        self._opened: list[PgStore] = []
        self._lock = threading.Lock()

    async def start(self) -> None:
        jobs = [self._jobs] * self.threads + [self._urgent] * URGENT_THREADS
        for i, source in enumerate(jobs):
            store = await asyncio.to_thread(PgStore.connect, self.path, i == 0)
            self._opened.append(store)
            thread = threading.Thread(target=self._loop, args=(store, source), daemon=True,
                                      name=f"heard-writer-{i}")
            thread.start()
            self._running.append(thread)

    async def stop(self) -> None:
        """Finish every job already queued, then close."""
        for _ in range(self.threads):
            self._jobs.put(None)
        for _ in range(URGENT_THREADS):
            self._urgent.put(None)
        for thread in self._running:
            await asyncio.to_thread(thread.join)
        self._running = []
        for store in self._opened:
            store.close()
        self._opened = []

    async def run(self, fn: Callable[[PgStore], T], *, urgent: bool = False) -> T:
        if not self._running:
            raise RuntimeError("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        (self._urgent if urgent else self._jobs).put((fn, future, loop))
        return await future

    async def read(self, fn: Callable[[PgStore], T]) -> T:
        def work() -> T:
            try:
                store = self._readers.get_nowait()
            except queue.Empty:
                store = self._connect()
            try:
                return fn(store)
            finally:
                if store.lost:
                    store.close()
                else:
                    self._readers.put(store)
        return await asyncio.to_thread(work)

    def _loop(self, store: PgStore, jobs: queue.SimpleQueue[_Job | None]) -> None:
        while (job := jobs.get()) is not None:
            fn, future, loop = job
            try:
                if store.lost:
                    store.close()
                    store = self._connect()
                ok, value = True, self._attempt(store, fn)
            except Exception as exc:
                ok, value = False, exc
            loop.call_soon_threadsafe(settle, [(future, ok, value)])

    def _connect(self) -> PgStore:
        """Another connection (the schema is up to date: `start` migrated it)."""
        store = PgStore.connect(self.path, migrate=False)
        with self._lock:
            self._opened.append(store)
        return store

    def _attempt(self, store: PgStore, fn: Callable[[PgStore], Any]) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with store.transaction():
                    result = fn(store)
                with self._lock:
                    self.commits += 1
                return result
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == ATTEMPTS:
                    raise
                log.info("writer: a transaction met another worker's; running it again")
        raise AssertionError("unreachable")

