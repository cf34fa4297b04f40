"""Sending the outbox: each message at most once from the customer's point of view.

A message is marked sent only after the platform accepted it. 5xx, timeouts and 429 are
retried with backoff (429 waits as told); a blocked customer stops delivery to them and is
recorded; a refused or hopeless message is marked failed (and counted in /metrics), never
dropped silently. One conversation's messages go out in order; different conversations
are sent concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.base import (
    CustomerBlocked,
    DeliveryError,
    OutboxMessage,
    PermanentFailure,
    Sender,
    TemporaryFailure,
)
from bot.metrics import Metrics
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_CAP = 300.0


def backoff(attempts: int) -> float:
    """Seconds before the next try: 1, 2, 4, 8 … capped at five minutes."""
    return float(min(2 ** attempts, BACKOFF_CAP))


class Delivery:
    def __init__(self, writer: Writer, senders: dict[str, Sender], metrics: Metrics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 idle_wait: float = 1.0) -> None:
        self.writer = writer
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.idle_wait = idle_wait
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._round = asyncio.Lock()   # one round at a time: a row is never sent by two

    def poke(self) -> None:
        """New rows in the outbox: look now instead of at the next tick."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="delivery")

    async def stop(self, flush_for: float = 5.0) -> None:
        """Send what can be sent within `flush_for` seconds, then stop."""
        try:
            await asyncio.wait_for(self.send_due(), timeout=flush_for)
        except TimeoutError:
            log.warning("delivery: stopped with messages still waiting; they go out on restart")
        self._stopping = True
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_wait)
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:
                log.exception("delivery round failed; trying again shortly")

    async def send_due(self) -> int:
        """One round: every message due now. Returns how many were delivered."""
        async with self._round:
            return await self._send_due()

    async def _send_due(self) -> int:
        now = self.clock()
        rows = await self.writer.read(lambda s: s.due_outbox(now.timestamp()))
        if not rows:
            return 0
        by_conversation: dict[str, list[tuple[OutboxMessage, bool]]] = defaultdict(list)
        for row in rows:
            by_conversation[row["conversation_key"]].append(
                (OutboxMessage.from_row(row), bool(row["blocked"])))
        plans = [_batches(items, self.senders) for items in by_conversation.values()]
        # Count the first try of each conversation's first batch in one write, before sending.
        first = [m.id for plan in plans if plan and not plan[0][1]
                 and plan[0][0][0].channel in self.senders for m in plan[0][0]]
        await self.writer.run(_attempt(first))
        round_ = _Round(self.clock())
        counts = await asyncio.gather(*(self._conversation(plan, round_) for plan in plans))
        await self.writer.run(round_.apply)
        for (name, channel), n in round_.counts.items():
            self.metrics.inc(name, n, channel=channel)
        return sum(counts)

    async def _conversation(self, plan: list[tuple[list[OutboxMessage], bool]],
                            round_: _Round) -> int:
        sent = 0
        blocked_now = False
        for n, (batch, was_blocked) in enumerate(plan):
            sender = self.senders.get(batch[0].channel)
            if sender is None:
                return sent   # a channel that is off: kept until it is configured
            if was_blocked or blocked_now:
                round_.finish(batch, "failed", "customer blocked the bot")
                continue
            if n > 0:
                await self.writer.run(_attempt([m.id for m in batch]))
            try:
                await sender.send(batch, self.clock())
            except TemporaryFailure as exc:
                round_.retry(batch, exc)
                return sent   # keep this conversation's order: later messages wait
            except CustomerBlocked as exc:
                log.info("%s: the customer blocked the bot; not sending to them", batch[0].channel)
                round_.block(batch, exc)
                blocked_now = True
                continue
            except (PermanentFailure, DeliveryError) as exc:
                log.warning("%s: message %s refused: %s", batch[0].channel, batch[0].id, exc)
                round_.finish(batch, "failed", str(exc))
                continue
            round_.finish(batch, "sent")
            sent += len(batch)
        return sent


class _Round:
    """What one delivery round learned, written to the store in one go at its end."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.writes: list[Callable[[Store], None]] = []
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def finish(self, batch: list[OutboxMessage], status: str, error: str = "") -> None:
        ids, now = [m.id for m in batch], self.now

        def mark(store: Store) -> None:
            for outbox_id in ids:
                if status == "sent":
                    store.mark_sent(outbox_id, now)
                else:
                    store.mark_failed(outbox_id, error, now)

        self.writes.append(mark)
        name = "heard_messages_out_total" if status == "sent" else "heard_delivery_failures_total"
        self.counts[(name, batch[0].channel)] += len(batch)

    def retry(self, batch: list[OutboxMessage], exc: TemporaryFailure) -> None:
        attempts = max(m.attempts for m in batch) + 1   # this try included
        if attempts >= MAX_ATTEMPTS:
            log.warning("%s: message %s failed after %d tries: %s", batch[0].channel,
                        batch[0].id, attempts, exc)
            self.finish(batch, "failed", f"gave up after {attempts} tries: {exc}")
            return
        wait = exc.retry_after if exc.retry_after is not None else backoff(attempts)
        at = self.now.timestamp() + wait
        log.info("%s: message %s will be retried in %.0f s (%s)", batch[0].channel,
                 batch[0].id, wait, exc)
        ids, reason = [m.id for m in batch], str(exc)

        def defer(store: Store) -> None:
            for outbox_id in ids:
                store.defer_outbox(outbox_id, at, reason)

        self.writes.append(defer)
        self.counts[("heard_delivery_retries_total", batch[0].channel)] += 1

    def block(self, batch: list[OutboxMessage], exc: CustomerBlocked) -> None:
        key = batch[0].conversation_key
        self.writes.append(lambda store: store.set_blocked(key, True))
        self.finish(batch, "failed", f"customer blocked the bot: {exc}")

    def apply(self, store: Store) -> None:
        for write in self.writes:
            write(store)


def _attempt(ids: list[int]) -> Callable[[Store], None]:
    def mark(store: Store) -> None:
        for outbox_id in ids:
            store.mark_attempt(outbox_id)
    return mark


def _batches(items: list[tuple[OutboxMessage, bool]],
             senders: dict[str, Sender]) -> list[tuple[list[OutboxMessage], bool]]:
    """Consecutive messages that can go in one call: same reply token, up to the limit."""
    batches: list[tuple[list[OutboxMessage], bool]] = []
    for message, blocked in items:
        sender = senders.get(message.channel)
        limit = sender.max_batch if sender else 1
        if batches:
            last, _ = batches[-1]
            if (len(last) < limit and last[0].reply_token == message.reply_token
                    and last[0].kind == message.kind and last[0].attempts == message.attempts):
                last.append(message)
                continue
        batches.append(([message], blocked))
    return batches
