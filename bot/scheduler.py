"""Timers kept in the store: follow-up callbacks that came due are sent (each once), never
before `bot.when.contact_time` (quiet hours, days off and holidays: see `turns.run_due`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.case import Step
from bot.turns import run_due
from dialogs.model import Dialog
from storage.writer import Writer

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, writer: Writer, dialog: Callable[[], Dialog],
                 clock: Callable[[], datetime], on_outbox: Callable[[], None],
                 every: float = 30.0,
                 on_due: Callable[[list[Step]], Awaitable[None]] | None = None) -> None:
        self.writer, self.dialog, self.clock = writer, dialog, clock
        self.on_outbox, self.every, self.on_due = on_outbox, every, on_due
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def tick(self) -> int:
        now, dialog = self.clock(), self.dialog()
        results = await self.writer.run(lambda store: run_due(store, dialog, now))
        if results:
            self.on_outbox()
            if self.on_due is not None:
                await self.on_due([r.step for r in results])
        return len(results)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again")
            await asyncio.sleep(self.every)
