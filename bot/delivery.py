"""Sending the outbox: each message once from the customer's point of view, in order per
conversation, retried for as long as it is worth sending.

Every conversation with a message due is sent by its own task (at most `MAX_SENDING` at a
time), so a slow platform holds up nobody else. A turn that just committed messages hands
its conversation to `deliver()`, which starts sending it at once; the look at the whole
outbox (`poke`, and every `idle_wait` seconds) finds everything else: retries coming due,
messages written by agents and timers, conversations that waited for room. Within a
conversation messages go out strictly in order: while one waits to be retried, the later
ones wait too (the store only offers a conversation whose *earliest* pending message is
due).

Every platform call is recorded before it is made (the sender's `checkpoint`) and its
outcome right after it, so after a crash the store shows exactly the calls whose outcome
was never seen (storage/outbox.py). 5xx, timeouts and 429 are retried with back-off (a 429
waits as told, and LINE's pauses the whole channel) until the message is `max_age` old;
then it is marked failed and the team is told: a console alert, an event on the case, and
/metrics. A message whose fate cannot be known is marked unconfirmed and the team is told,
rather than said twice. A refused message is marked failed and told the same way; a blocked
customer's messages are marked failed quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from adapters.base import (
    CustomerBlocked,
    DeliveryError,
    OutboxMessage,
    Sender,
    TemporaryFailure,
    Unconfirmed,
    can_join,
)
from bot.journal import Journal, Tries
from bot.metrics import Metrics
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)

MAX_SENDING = 256                # conversations being sent at once, per channel …
REFILL = 64                      # … topped up when this many are free (or none is busy)
BACKOFF_CAPS = (30.0, 300.0)     # the longest wait between tries: 30 s … 5 minutes
DEFAULT_MAX_AGE = 6 * 3600.0     # seconds a message keeps being retried
ELSEWHERE = 1.0                  # seconds a conversation another worker sends is left to it

# Told when messages could not be delivered: (messages, "failed" or "unconfirmed", why).
OnProblem = Callable[[list[OutboxMessage], str, str], Awaitable[None]]
Plan = list[tuple[list[OutboxMessage], bool]]    # batches in order, each with "blocked"


def backoff(attempts: int, age: float) -> float:
    """Seconds before the next try: 2, 4, 8, 16 … but never more than a tenth of how long
    the message has waited already (within 30 s … 5 minutes): a short outage is caught up
    on quickly, a long one is not hammered."""
    low, high = BACKOFF_CAPS
    return float(min(2 ** min(attempts, 16), min(max(age / 10, low), high)))


class Delivery:
    def __init__(self, writer: Writer, senders: dict[str, Sender], metrics: Metrics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 idle_wait: float = 1.0, max_age: float = DEFAULT_MAX_AGE,
                 on_problem: OnProblem | None = None) -> None:
        self.writer = writer
        self.journal = Journal(writer)
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.idle_wait = idle_wait
        self.max_age = max_age
        self.on_problem = on_problem
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pass = asyncio.Lock()             # one look at the outbox at a time
        self._busy: set[str] = set()            # conversations being sent right now
        self._sending: set[asyncio.Task[int]] = set()
        self._again: set[str] = set()           # conversations with news while being sent
        self._wanted: set[str] = set()          # conversations handed over by `deliver`
        # with several HTTP workers, each delivers its own share of the conversations
        self.owns: Callable[[str], bool] = lambda key: True
        self._taking: asyncio.Task[None] | None = None
        self._paused: dict[str, float] = {}     # channel -> no sends before (LINE's 429)
        # workers sharing PostgreSQL: a conversation is sent only under its claim; one
        # claimed elsewhere is left out of this worker's looks for `ELSEWHERE` seconds
        self.claims: Any = None
        self._elsewhere: dict[str, float] = {}

    def poke(self) -> None:
        """New rows in the outbox: look now instead of at the next tick."""
        self._wake.set()

    def deliver(self, key: str) -> None:
        """This conversation has new messages: send them now (in order, after any it has
        waiting), or as soon as its sending under way finishes. Conversations handed over
        in the same moment are read from the outbox together."""
        if self._stopping:
            return
        if key in self._busy:
            self._again.add(key)
            return
        self._wanted.add(key)
        if self._taking is None:
            self._taking = asyncio.get_running_loop().create_task(self._take_wanted())

    async def _take_wanted(self) -> None:
        try:
            await asyncio.sleep(0)               # the other turns of this moment join in
            while self._wanted:
                now = self.clock().timestamp()
                keys, self._wanted = self._wanted, set()
                take = []
                for key in keys:
                    channel = key.split(":", 1)[0]
                    if key in self._busy:
                        self._again.add(key)
                    elif (channel in self.senders and self._paused.get(channel, 0.0) <= now
                          and self._room(channel) > 0):
                        take.append(key)
                    else:
                        self.poke()    # the next look at the whole outbox takes it in turn
                if not take:
                    continue
                self._busy.update(take)
                if self.claims is not None:     # read once claimed (`_claimed`)
                    for key in take:
                        self._send(key, [])
                    continue
                try:
                    rows = await self.writer.read(partial(Store.conversations_due, keys=take,
                                                          now_ts=now))
                except Exception:
                    self._busy.difference_update(take)
                    raise
                for key in take:
                    if rows[key]:
                        self._send(key, [_item(r) for r in rows[key]])
                    else:
                        self._busy.discard(key)
        except Exception:
            log.exception("delivery: reading new messages failed; the next look finds them")
            self.poke()
        finally:
            self._taking = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="delivery")

    async def stop(self, flush_for: float = 5.0) -> None:
        """Send what can be sent within `flush_for` seconds, let calls under way finish
        (and be recorded), then stop."""
        try:
            await asyncio.wait_for(self.send_due(), timeout=flush_for)
        except TimeoutError:
            log.warning("delivery: stopped with messages still waiting; they go out on restart")
        self._stopping = True
        if self._taking is not None:
            await asyncio.gather(self._taking, return_exceptions=True)
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sending:
            await asyncio.wait(set(self._sending))

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_wait)
            self._wake.clear()
            try:
                await self._start_due()
            except Exception:
                log.exception("delivery: looking at the outbox failed; trying again shortly")

    async def send_due(self) -> int:
        """Send everything due now and wait for it (tests and shutdown). Returns how many
        messages were delivered. Each conversation is taken at most once per call."""
        delivered, seen = 0, set[str]()
        while True:
            if self._sending:   # calls under way finish first (asyncio.wait never cancels them)
                await asyncio.wait(set(self._sending))
            started = await self._start_due(exclude=seen)
            if not started:
                return delivered
            seen.update(started)
            await asyncio.wait(started.values())
            delivered += sum(t.result() for t in started.values() if not t.cancelled())

    async def _start_due(self, exclude: set[str] | None = None) -> dict[str, asyncio.Task[int]]:
        """Start a task for each conversation whose next message is due. Each channel has
        its own room, so a platform that hangs holds up only its own customers; room is
        topped up in batches, not one look at the outbox per finished conversation."""
        async with self._pass:
            now = self.clock().timestamp()
            rooms = {c: self._room(c) for c in self.senders if self._paused.get(c, 0.0) <= now}
            rooms = {c: room for c, room in rooms.items() if room}
            if not rooms:
                return {}
            skip = self._busy | (exclude or set()) | self._claimed_elsewhere()
            rows = await self.writer.read(lambda s: [
                row for channel, room in rooms.items()
                for row in s.due_outbox(now, skip, channels=[channel], conversations=room)])
            by_conversation: dict[str, list[tuple[OutboxMessage, bool]]] = defaultdict(list)
            for row in rows:
                if self.owns(row["conversation_key"]):
                    by_conversation[row["conversation_key"]].append(_item(row))
            started: dict[str, asyncio.Task[int]] = {}
            for key, items in by_conversation.items():
                if key not in self._busy:    # else `deliver()` took it while we were reading
                    self._busy.add(key)
                    started[key] = self._send(key, items)
            return started

    def _send(self, key: str, items: list[tuple[OutboxMessage, bool]]) -> asyncio.Task[int]:
        """Send this conversation's due messages in a task of its own (the key is busy)."""
        work = (self._conversation(_batches(items, self.senders)) if self.claims is None
                else self._claimed(key))
        task = asyncio.get_running_loop().create_task(work, name=f"deliver {key}")
        self._sending.add(task)
        task.add_done_callback(partial(self._finished, key))
        return task

    def _claimed_elsewhere(self) -> set[str]:
        now = time.monotonic()
        for key in [k for k, until in self._elsewhere.items() if until <= now]:
            del self._elsewhere[key]
        return set(self._elsewhere)

    def _room(self, channel: str) -> int:
        busy = sum(1 for key in self._busy if key.startswith(channel + ":"))
        room = MAX_SENDING - busy
        return room if room >= REFILL or not busy else 0

    def _finished(self, key: str, task: asyncio.Task[int]) -> None:
        self._busy.discard(key)
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery to %s failed", key, exc_info=task.exception())
        if key in self._again:   # messages written while this conversation was being sent
            self._again.discard(key)
            self.deliver(key)
        else:
            self.poke()   # conversations that waited for room

    async def _claimed(self, key: str) -> int:
        """Workers sharing PostgreSQL: send this conversation only while holding its claim,
        and only what is due once it is held (another worker may just have sent it), until
        nothing more is due. A claim held elsewhere is left to its holder, which looks
        again before it lets go; what arrives in that last moment is found by the next
        look at the whole outbox (every `idle_wait` seconds, on every worker)."""
        name = "deliver " + key
        if not await self.claims.acquire(name):
            self._elsewhere[key] = time.monotonic() + ELSEWHERE
            return 0
        sent = 0
        try:
            while True:
                now = self.clock().timestamp()
                rows = await self.writer.read(partial(Store.conversations_due, keys=[key],
                                                      now_ts=now))
                if not rows[key]:
                    return sent
                now_sent = await self._conversation(_batches([_item(r) for r in rows[key]],
                                                             self.senders))
                if not now_sent:
                    return sent       # waiting to be retried, or refused: not again now
                sent += now_sent
        finally:
            await self.claims.release(name)

    async def _conversation(self, plan: Plan) -> int:
        """One conversation's due messages, in order; stops at the first that must wait."""
        sent = 0
        blocked_now = False
        for batch, was_blocked in plan:
            channel = batch[0].channel
            if was_blocked or blocked_now:
                await self._finish(batch, "failed", "customer blocked the bot", tell=False)
                continue
            paused = self._paused.get(channel, 0.0)
            if paused > self.clock().timestamp():
                await self._defer(batch, paused, f"{channel} asked us to slow down", False)
                return sent
            tries = Tries(self.journal, batch)
            try:
                await self.senders[channel].send(batch, self.clock(), tries)
            except TemporaryFailure as exc:
                if await self._retry(batch, exc, answered=tries.made):
                    return sent   # later messages wait for this one
                continue
            except Unconfirmed as exc:
                log.warning("%s: message %s unconfirmed: %s", channel, batch[0].id, exc)
                await self._finish(batch, "unconfirmed", str(exc))
                continue
            except CustomerBlocked as exc:
                log.info("%s: the customer blocked the bot; not sending to them", channel)
                await self._finish(batch, "failed", f"customer blocked the bot: {exc}",
                                   tell=False, block=True)
                blocked_now = True
                continue
            except DeliveryError as exc:
                log.warning("%s: message %s refused: %s", channel, batch[0].id, exc)
                await self._finish(batch, "failed", str(exc))
                continue
            except Exception as exc:   # a bug of ours: wait, and keep what is in doubt
                log.exception("%s: sending message %s failed", channel, batch[0].id)
                await self._retry(batch, TemporaryFailure(repr(exc)), answered=False)
                return sent
            await self._finish(batch, "sent")
            sent += len(batch)
        return sent

    async def _retry(self, batch: list[OutboxMessage], exc: TemporaryFailure,
                     answered: bool = True) -> bool:
        """Try again later; False when the message is too old for that (marked failed)."""
        first, now = batch[0], self.clock().timestamp()
        age = now - first.created_ts
        if age >= self.max_age:
            status = "unconfirmed" if first.token_in_doubt else "failed"
            log.warning("%s: message %s still not delivered after %.1f h: %s", first.channel,
                        first.id, age / 3600, exc)
            await self._finish(batch, status, f"not delivered in {age / 3600:.1f} h: {exc}")
            return False
        attempts = max(m.attempts for m in batch) + 1   # this try included
        wait = exc.retry_after if exc.retry_after is not None else backoff(attempts, age)
        at = min(now + wait, first.created_ts + self.max_age)   # the last try at the limit
        if exc.whole_channel:
            self._paused[first.channel] = max(self._paused.get(first.channel, 0.0), at)
        log.info("%s: message %s will be retried in %.0f s (%s)", first.channel, first.id,
                 at - now, exc)
        await self._defer(batch, at, str(exc), answered)
        self.metrics.inc("heard_delivery_retries_total", channel=first.channel)
        return True

    async def _defer(self, batch: list[OutboxMessage], at: float, reason: str,
                     answered: bool) -> None:
        ids = [m.id for m in batch]

        def defer(store: Store) -> None:
            for outbox_id in ids:
                store.defer_outbox(outbox_id, at, reason, answered)

        await self.journal.write(defer)

    async def _finish(self, batch: list[OutboxMessage], status: str, error: str = "",
                      tell: bool = True, block: bool = False) -> None:
        """The outcome, written at once: a crash after this never repeats the call. `tell`:
        the team hears of a message that was not delivered; `block`: the customer blocked
        the bot."""
        now, ids = self.clock(), [m.id for m in batch]
        numbers = sorted({m.case_number for m in batch if m.case_number})
        key = batch[0].conversation_key

        def mark(store: Store) -> None:
            if block:
                store.set_blocked(key, True)
            for outbox_id in ids:
                if status == "sent":
                    store.mark_sent(outbox_id, now)
                else:
                    store.mark_failed(outbox_id, error, now, status)
            if status != "sent" and tell:
                for number in numbers:
                    store.add_event(number, "delivery_failed",
                                    {"status": status, "reason": error[:300],
                                     "messages": len(ids)}, now)

        await self.journal.write(mark)
        channel = batch[0].channel
        name = {"sent": "heard_messages_out_total",
                "unconfirmed": "heard_delivery_unconfirmed_total"}.get(
                    status, "heard_delivery_failures_total")
        self.metrics.inc(name, len(batch), channel=channel)
        if status != "sent" and tell and self.on_problem is not None:
            try:
                await self.on_problem(batch, status, error)
            except Exception:
                log.exception("telling the team about message %s failed", batch[0].id)


def _item(row: dict[str, Any]) -> tuple[OutboxMessage, bool]:
    """An outbox row as a message, with whether its customer blocked the bot."""
    return OutboxMessage.from_row(row), bool(row["blocked"])


def _batches(items: list[tuple[OutboxMessage, bool]], senders: dict[str, Sender]) -> Plan:
    """Consecutive messages that can go in one call: the same reply token and what is known
    about it, tried together so far, as many as the sender can carry in one call
    (`can_join`). A batch keeps its first message's push retry key, so it must keep its
    members across retries."""
    batches: Plan = []
    for message, blocked in items:
        sender = senders.get(message.channel)
        if batches:
            last, _ = batches[-1]
            head = last[0]
            if (sender is not None and can_join(sender, last, message)
                    and head.reply_token == message.reply_token
                    and head.kind == message.kind and head.attempts == message.attempts
                    and head.reply_state == message.reply_state):
                last.append(message)
                continue
        batches.append(([message], blocked))
    return batches
