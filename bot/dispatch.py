"""Inbox → engine → outbox, one conversation at a time.

`accept()` keeps received events in the inbox (one durable write) so the webhook can be
answered at once; redelivered events are recognised there and not processed again. Each
conversation has its own queue, worked in arrival order; different conversations run
concurrently (their turns meet again in the writer's group commit). On start-up, events
that were accepted but not processed (a crash) are processed first.

With `heard serve --workers` (bot/workers.py) an HTTP worker's dispatcher only accepts
(`remote` wakes the turn worker) and hears back through `turned()`; the turn worker's
dispatcher `pull()`s what was accepted, in inbox order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.case import CaseState
from bot.metrics import Metrics
from bot.payloads import FOLLOW, UNFOLLOW
from bot.turns import CaseNumbers, Prepared, commit_turn, event_key, handle_incoming, prepare_turn
from bot.types import Incoming, incoming_from_dict, incoming_to_dict
from dialogs.model import Dialog
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Told after every stored turn: the case, what the customer wrote, whether it escalated,
# and the event's inbox id.
OnTurn = Callable[[CaseState | None, str, bool, int], Awaitable[None]]
# Resolves an event's pending attachment (bot/fetch.py) before its turn.
Fetch = Callable[[Incoming], Awaitable[Incoming]]
SETTLE_WAIT = 10.0          # seconds a web chat request waits for another process's turn
REMEMBERED = 20_000         # accepted events waiting to hear back from the turn worker
AHEAD_WAIT = 1.0            # seconds a webhook waits at most for the turn worker to catch up
STALE = 30.0                # seconds after which an accepted event is not waited for
BUSY = "busy"               # shared: another worker holds the conversation


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    shared = False      # True: other workers share the inbox (bot/shared_turns.py)

    def __init__(self, writer: Writer, dialog: Callable[[], Dialog], metrics: Metrics,
                 on_outbox: Callable[[str], None] = lambda key: None, clock: Clock = utc_now,
                 on_turn: OnTurn | None = None,
                 remote: Callable[[], None] | None = None,
                 fetch: Fetch | None = None) -> None:
        self.writer = writer
        self.fetch = fetch
        self.remote = remote
        self.on_turn = on_turn
        self.dialog = dialog
        self.metrics = metrics
        self.on_outbox = on_outbox
        self.clock = clock
        self._queues: dict[str, deque[tuple[int, Incoming, float]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._seen = 0                                    # the last inbox id pulled
        self._accepted: dict[int, tuple[str, float]] = {}  # remote: id -> (conversation, t)
        self._settling: dict[str, asyncio.Event] = {}
        self.ahead = 0                  # remote: how far the turn worker may fall behind
        self._freed = asyncio.Event()
        self._again: set[str] = set()   # shared: conversations with news while being run
        self._swept = False
        self._sweeper: asyncio.Task[None] | None = None
        self._numbers = CaseNumbers()   # handed to turns worked out ahead of their write

    async def accept(self, incomings: list[Incoming]) -> list[Incoming]:
        """Keep events durably; returns the ones not seen before, queued for processing."""
        if not incomings:
            return []
        if self.remote is not None and self.ahead:
            await self._room()
        now = self.clock()
        started = time.perf_counter()

        def keep(store: Store) -> list[int | None]:
            return [store.add_inbox(i.channel, event_key(i), i.conversation_key,
                                    incoming_to_dict(i), now) for i in incomings]

        ids = await self.writer.run(keep, urgent=True)
        fresh = []
        for inbox_id, incoming in zip(ids, incomings, strict=True):
            if inbox_id is None:
                log.info("%s event %s was received before: not processed again",
                         incoming.channel, incoming.event_id)
                continue
            self.metrics.inc("heard_messages_in_total", channel=incoming.channel)
            if self.remote is None:
                self._queue(inbox_id, incoming, started)
            else:
                self._accepted[inbox_id] = (incoming.conversation_key, started)
            fresh.append(incoming)
        if self.remote is not None and fresh:
            while len(self._accepted) > REMEMBERED:     # heard of no more (a lost wake-up)
                self._accepted.pop(next(iter(self._accepted)))
            self.remote()
        return fresh

    async def _room(self) -> None:
        """Remote: while the turn worker is `ahead` events behind this worker, a webhook
        waits a little (at most `AHEAD_WAIT`) before its event is kept and answered. The
        platform hears 200 a few milliseconds later, and the queue of kept-but-unanswered
        events stays short, so a reply follows its message within a fraction of a second
        instead of growing behind a queue only the turn worker can shorten."""
        deadline = time.perf_counter() + AHEAD_WAIT
        while len(self._accepted) >= self.ahead and time.perf_counter() < deadline:
            oldest = next(iter(self._accepted.values()))[1]
            if time.perf_counter() - oldest > STALE:     # never heard back (a lost wake-up)
                self._accepted.pop(next(iter(self._accepted)))
                continue
            self._freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), deadline - time.perf_counter())

    def turned(self, inbox_id: int) -> None:
        """Remote: the turn worker stored the turn of an event (maybe one we accepted)."""
        accepted = self._accepted.pop(inbox_id, None)
        if accepted is None:
            return
        key, started = accepted
        self.metrics.observe_turn(time.perf_counter() - started)
        self._freed.set()
        if key in self._settling and not any(k == key for k, _ in self._accepted.values()):
            self._settling.pop(key).set()

    async def pull(self) -> int:
        """Queue the accepted events not queued yet, in inbox order (turn worker)."""
        seen = self._seen
        rows = await self.writer.read(lambda store: store.pending_inbox(after=seen))
        for row in rows:
            self._queue(int(row["id"]), incoming_from_dict(row["incoming"]), time.perf_counter())
            self._seen = max(self._seen, int(row["id"]))
        return len(rows)

    async def recover(self) -> int:
        """Queue every accepted event that was not processed (after a crash)."""
        count = await self.pull()
        if count:
            log.info("processing %d events accepted before a restart", count)
        return count

    async def drain(self) -> None:
        """Wait until every queued event is processed."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def settled(self, conversation_key: str) -> None:
        """Wait until this conversation has nothing left to process."""
        if self.remote is not None:
            if any(k == conversation_key for k, _ in self._accepted.values()):
                event = self._settling.setdefault(conversation_key, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), SETTLE_WAIT)
            return
        while (task := self._workers.get(conversation_key)) is not None:
            await asyncio.gather(asyncio.shield(task), return_exceptions=True)

    @property
    def backlog(self) -> int:
        return sum(len(q) for q in self._queues.values()) + len(self._accepted)

    def _queue(self, inbox_id: int, incoming: Incoming, started: float) -> None:
        key = incoming.conversation_key
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append((inbox_id, incoming, started))
        if key not in self._workers:
            self._start_worker(key)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("conversation worker failed", exc_info=task.exception())

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                inbox_id, incoming, started = queue.popleft()
                await self._process(inbox_id, incoming)
                self.metrics.observe_turn(time.perf_counter() - started)
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            else:  # something arrived while we were finishing
                self._start_worker(key)

    def _start_worker(self, key: str) -> None:
        task = asyncio.get_running_loop().create_task(self._work(key), name=f"conversation {key}")
        self._workers[key] = task
        task.add_done_callback(self._done)

    async def _process(self, inbox_id: int, incoming: Incoming) -> bool:
        """Run the event's turn; False when another worker is running this conversation
        right now (shared: it also takes this event, see bot/shared_turns.py)."""
        if self.fetch is not None and incoming.attachment is not None:
            incoming = await self.fetch(incoming)     # in order: this conversation waits
        now = self.clock()
        dialog = self.dialog()
        ahead: list[Prepared | None] = [None]

        def prepare(store: Store) -> None:
            """The engine's work, outside the write lock (SQLite's writer, see turn())."""
            if incoming.payload != UNFOLLOW:
                ahead[0] = prepare_turn(store, dialog, incoming, now, self._numbers)

        def turn(store: Store) -> tuple[bool, CaseState | None] | str | None:
            if self.shared:     # in order, once, never two at once (bot/shared_turns.py)
                if not store.try_lock("conversation " + incoming.conversation_key):
                    return BUSY
                if not store.inbox_is_next(inbox_id, incoming.conversation_key):
                    return None
            escalated, case = False, None
            if incoming.payload in (FOLLOW, UNFOLLOW):
                store.set_blocked(incoming.conversation_key, incoming.payload == UNFOLLOW)
            if incoming.payload == UNFOLLOW:
                store.mark_processed(event_key(incoming), now)
            else:
                prepared = ahead[0]
                result = (commit_turn(store, dialog, prepared) if prepared is not None
                          else handle_incoming(store, dialog, incoming, now))
                if result is not None:
                    escalated = any(e.kind == "escalated" for e in result.step.events)
                    case = result.step.case
            store.mark_inbox(inbox_id, "done", now)
            return escalated, case

        try:
            done = await (self.writer.run(turn, prepare=prepare)
                          if getattr(self.writer, "prepares", False) and not self.shared
                          else self.writer.run(turn))
        except Exception as exc:
            log.exception("%s event %s could not be processed; kept in the inbox as failed",
                          incoming.channel, incoming.event_id)
            error = repr(exc)
            await self.writer.run(lambda s: s.mark_inbox(inbox_id, "failed", now, error))
            return True
        if isinstance(done, str):    # BUSY: another worker runs this conversation
            return False
        if done is None:             # another worker ran this event's turn
            return True
        escalated, case = done
        if escalated:
            self.metrics.inc("heard_escalations_total")
        self.on_outbox(incoming.conversation_key)
        if self.on_turn is not None:
            try:
                await self.on_turn(case, incoming.text, escalated, inbox_id)
            except Exception:
                log.exception("telling the desk about %s failed", incoming.event_id)
        return True
