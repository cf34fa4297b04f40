"""Turns when several workers share one PostgreSQL (see bot/shared.py).

An event may be accepted by any worker, and the next event of the same conversation by
another. So a worker does not run "this event": hearing of a conversation, it runs that
conversation's *oldest pending* inbox event, again and again until none is left. Each
turn's transaction first takes the conversation's advisory lock and checks the event is
still the oldest pending one (it may have just been run): in order, once, never two at
once. If another worker holds the lock, this one leaves the conversation to it at once
instead of waiting: that worker looks for the conversation's next event after each
commit, and this event was kept before the lock was asked for, so it finds it.
Every `SWEEP_EVERY` seconds each worker also looks for conversations with events
left pending for a while (accepted by a worker that died, or whose wake-up was lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.dispatch import Dispatcher
from bot.types import Incoming, incoming_from_dict

log = logging.getLogger(__name__)

SWEEP_EVERY = 2.0      # seconds between looks for events nobody is running …
LEFT_FOR = 5.0         # … left pending this long …
SWEEP_TAKE = 32        # … taking at most this many conversations, longest waiting first


class SharedDispatcher(Dispatcher):
    shared = True

    def _queue(self, inbox_id: int, incoming: Incoming, started: float) -> None:
        self._poke(incoming.conversation_key)

    def _poke(self, key: str) -> None:
        if key in self._workers:
            self._again.add(key)
        else:
            self._start_worker(key)

    async def _work(self, key: str) -> None:
        try:
            while True:
                self._again.discard(key)
                row = await self.writer.read(lambda s: s.next_inbox(key))
                if row is None:
                    if key in self._again:
                        continue
                    return
                if not await self._process(int(row["id"]), incoming_from_dict(row["incoming"])):
                    return      # another worker runs this conversation: it takes this too
        finally:
            self._workers.pop(key, None)

    async def pull(self) -> int:
        """Start the conversations with events pending for a while, longest waiting first
        (at start: all of them). A busy worker's backlog is its own to run; the look is
        for what a dead worker left, so it takes a few at a time."""
        at_start = not self._swept
        before = self.clock() - timedelta(seconds=0 if at_start else LEFT_FOR)
        self._swept = True
        take = 100_000 if at_start else SWEEP_TAKE
        keys = await self.writer.read(lambda s: s.pending_conversations(before, take))
        for key in keys:
            if key not in self._workers:
                self._start_worker(key)
        return len(keys)

    def start_sweeping(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="sweep")

    async def stop_sweeping(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            with contextlib.suppress(Exception):
                await self.pull()
