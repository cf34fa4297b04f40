"""The turn worker of `heard serve --workers N` (see bot/workers.py): accepted events from
the inbox, in order, through the engine; the timers; news for the HTTP workers.

It has no port. It looks at the inbox when an HTTP worker says an event was kept, and every
second on its own; events accepted while it was down are processed first when it starts.
After each turn it tells the HTTP workers which conversation has replies (the owner sends
them at once) and what the desks should hear (an escalation, a customer writing on a case a
person has); after the timers, which cases breached their SLA or commitment.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from bot.case import CaseState, Step
from bot.config import Settings
from bot.desk import timer_news, turn_news
from bot.dispatch import Dispatcher, utc_now
from bot.fetch import content_channels, fetcher
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.understanding import ready
from bot.workers import Wake, owner
from dialogs.loader import DialogHolder
from storage.writer import open_writer

log = logging.getLogger(__name__)

LOOK_EVERY = 1.0          # seconds between looks at the inbox without a wake-up
TURN_BATCH_SECONDS = 0.03  # the write lock is given up this often for the HTTP workers


class TurnWorker:
    def __init__(self, settings: Settings, dialogs: DialogHolder, wake: Wake,
                 scheduler_every: float = 30.0) -> None:
        self.settings, self.dialogs, self.wake = settings, dialogs, wake
        self.http_count = len(wake.write_fds)      # a pipe to each HTTP worker
        self.writer = open_writer(settings.records, batch_seconds=TURN_BATCH_SECONDS)
        self.metrics = Metrics()
        self.channels = content_channels(settings)      # photos and files are fetched here
        self.dispatcher = Dispatcher(self.writer, lambda: self.dialogs.dialog, self.metrics,
                                     on_outbox=self._replies, clock=utc_now,
                                     on_turn=self._after_turn,
                                     fetch=fetcher(settings, self.channels))
        self.scheduler = Scheduler(self.writer, lambda: self.dialogs.dialog, utc_now,
                                   self._look, every=scheduler_every, on_due=self._after_timers)
        self._looked = asyncio.Event()
        self._stop = asyncio.Event()
        self._reload: asyncio.Future[bool] | None = None

    async def run(self) -> None:
        await asyncio.to_thread(ready, self.dialogs.dialog)
        await self.writer.start()
        for channel in self.channels.values():
            await channel.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        self.wake.listen(self._heard)
        self.scheduler.start()
        watcher = loop.create_task(
            self.dialogs.watch(lambda: asyncio.to_thread(self.dialogs.reload)))
        await self.dispatcher.recover()           # what was kept while none was running
        self.wake.send({"ready": 1})
        log.info("turn worker: ready")
        try:
            while not self._stop.is_set():
                try:
                    await self.dispatcher.pull()
                except Exception:
                    log.exception("turn worker: reading the inbox failed; trying again")
                self._looked.clear()
                waits = [asyncio.ensure_future(self._looked.wait()),
                         asyncio.ensure_future(self._stop.wait())]
                await asyncio.wait(waits, timeout=LOOK_EVERY,
                                   return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
        finally:
            watcher.cancel()
            self.wake.close()
            await self.dispatcher.drain()       # accepted events finish their turns
            await self.scheduler.stop()
            await self.writer.stop()
            for channel in self.channels.values():
                await channel.close()
            log.info("turn worker: stopped")

    def _heard(self, message: dict[str, object]) -> None:
        if message.get("hello"):       # an HTTP worker (re)started
            self.wake.send({"ready": 1})
        if message.get("reload"):
            self._reload = asyncio.ensure_future(asyncio.to_thread(self.dialogs.reload))
        self._looked.set()

    # ------------------------------------------------------------ news for HTTP workers

    def _replies(self, conversation_key: str) -> None:
        self.wake.send({"k": conversation_key}, to=owner(conversation_key, self.http_count))

    def _look(self) -> None:
        self.wake.send({"look": 1})

    async def _after_turn(self, case: CaseState | None, text: str, escalated: bool,
                          inbox_id: int) -> None:
        """Every HTTP worker hears of each turn: the one that accepted the event answers
        its web chat request; all tell their desks (console pages are on each)."""
        news: dict[str, object] = {"i": inbox_id, "e": escalated}
        what = turn_news(case, text, escalated)
        if case is not None and what is not None:
            news.update(news=what, n=case.number)
        self.wake.send(news)

    async def _after_timers(self, steps: Sequence[Step]) -> None:
        for what, case in timer_news(steps):
            self.wake.send({"news": what, "n": case.number})
