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
from typing import Any

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
        rows = await self.writer.read(lambda s: _due(s, now.timestamp()))
        by_conversation: dict[str, list[tuple[OutboxMessage, bool]]] = defaultdict(list)
        for row in rows:
            by_conversation[row["conversation_key"]].append(
                (OutboxMessage.from_row(row), bool(row["blocked"])))
        counts = await asyncio.gather(*(self._conversation(items)
                                        for items in by_conversation.values()))
        return sum(counts)

    async def _conversation(self, items: list[tuple[OutboxMessage, bool]]) -> int:
        sent = 0
        blocked_now = False
        for batch, was_blocked in _batches(items, self.senders):
            sender = self.senders.get(batch[0].channel)
            if sender is None:
                return sent   # a channel that is off: kept until it is configured
            if was_blocked or blocked_now:
                await self._finish(batch, "failed", "customer blocked the bot")
                continue
            await self.writer.run(_attempt([m.id for m in batch]))
            try:
                await sender.send(batch, self.clock())
            except TemporaryFailure as exc:
                await self._retry(batch, exc)
                return sent   # keep this conversation's order: later messages wait
            except CustomerBlocked as exc:
                await self._blocked(batch, exc)
                blocked_now = True
                continue
            except (PermanentFailure, DeliveryError) as exc:
                log.warning("%s: message %s refused: %s", batch[0].channel, batch[0].id, exc)
                await self._finish(batch, "failed", str(exc))
                continue
            await self._finish(batch, "sent")
            sent += len(batch)
        return sent

    async def _finish(self, batch: list[OutboxMessage], status: str, error: str = "") -> None:
        now = self.clock()
        ids = [m.id for m in batch]

        def mark(store: Store) -> None:
            for outbox_id in ids:
                if status == "sent":
                    store.mark_sent(outbox_id, now)
                else:
                    store.mark_failed(outbox_id, error, now)

        await self.writer.run(mark)
        name = "heard_messages_out_total" if status == "sent" else "heard_delivery_failures_total"
        self.metrics.inc(name, len(batch), channel=batch[0].channel)

    async def _retry(self, batch: list[OutboxMessage], exc: TemporaryFailure) -> None:
        attempts = max(m.attempts for m in batch) + 1   # this try included
        if attempts >= MAX_ATTEMPTS:
            log.warning("%s: message %s failed after %d tries: %s", batch[0].channel,
                        batch[0].id, attempts, exc)
            await self._finish(batch, "failed", f"gave up after {attempts} tries: {exc}")
            return
        wait = exc.retry_after if exc.retry_after is not None else backoff(attempts)
        at = self.clock().timestamp() + wait
        log.info("%s: message %s will be retried in %.0f s (%s)", batch[0].channel,
                 batch[0].id, wait, exc)
        ids = [m.id for m in batch]

        def defer(store: Store) -> None:
            for outbox_id in ids:
                store.defer_outbox(outbox_id, at, str(exc))

        await self.writer.run(defer)
        self.metrics.inc("heard_delivery_retries_total", channel=batch[0].channel)

    async def _blocked(self, batch: list[OutboxMessage], exc: CustomerBlocked) -> None:
        key = batch[0].conversation_key
        await self.writer.run(lambda s: s.set_blocked(key, True))
        log.info("%s: the customer blocked the bot; not sending to them", batch[0].channel)
        await self._finish(batch, "failed", f"customer blocked the bot: {exc}")


def _attempt(ids: list[int]) -> Callable[[Store], None]:
    def mark(store: Store) -> None:
        for outbox_id in ids:
            store.mark_attempt(outbox_id)
    return mark


def _due(store: Store, now_ts: float) -> list[dict[str, Any]]:
    rows = store.due_outbox(now_ts)
    blocked = {r["key"] for r in store.db.query("SELECT key FROM customers WHERE blocked = 1")}
    return [{**row, "blocked": row["conversation_key"] in blocked} for row in rows]


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
