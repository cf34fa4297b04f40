"""Delivery's journal: every platform call on record before it is made, and its outcome
right after (see bot/delivery.py), written durably and together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.base import OutboxMessage
from storage.store import Store
from storage.writer import Writer


class Journal:
    """Delivery's writes made in the same moment (many conversations' checkpoints and
    outcomes) go to the writer as one job, ahead of other work: the sooner a call is on
    record, the fewer a crash leaves in doubt. Each caller still returns only once its
    own write is durable."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._writes: list[Callable[[Store], None]] = []
        self._done: asyncio.Future[None] | None = None
        self._jobs: set[asyncio.Future[None]] = set()

    async def write(self, fn: Callable[[Store], None]) -> None:
        if self._done is None:
            loop = asyncio.get_running_loop()
            self._done = loop.create_future()
            loop.call_soon(self._flush)
        self._writes.append(fn)
        await asyncio.shield(self._done)

    def _flush(self) -> None:
        writes, done = self._writes, self._done
        self._writes, self._done = [], None
        assert done is not None

        def run(store: Store) -> None:
            for fn in writes:
                fn(store)

        def settle(job: asyncio.Future[None]) -> None:
            self._jobs.discard(job)
            error = None if job.cancelled() else job.exception()
            if job.cancelled():
                done.cancel()
            elif error is not None:
                done.set_exception(error)
            else:
                done.set_result(None)

        job = asyncio.ensure_future(self.writer.run(run, urgent=True))
        self._jobs.add(job)
        job.add_done_callback(settle)


class Tries:
    """The sender's checkpoint for one send: before each platform call the try is counted
    (once per send) and its method recorded, durably, before anything leaves."""

    def __init__(self, journal: Journal, batch: list[OutboxMessage]) -> None:
        self.journal, self.ids, self.made = journal, [m.id for m in batch], False

    async def __call__(self, via: str) -> None:
        count, self.made = not self.made, True
        ids = self.ids

        def trying(store: Store) -> None:
            for outbox_id in ids:
                store.outbox_trying(outbox_id, via, count)

        await self.journal.write(trying)
