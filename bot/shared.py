"""Workers sharing one PostgreSQL (`HEARD_DB=postgresql://…`): any number of identical
`heard serve` processes, on any number of machines. What one process used to know in its
own memory is settled through the database instead:

- **Turns**: whichever worker hears of a conversation's new event runs that
  conversation's *next* pending inbox event, holding the conversation's advisory lock for
  the turn's transaction (bot/dispatch.py `SharedDispatcher`): turns stay in order and
  never run two at once, wherever the events arrived. Events a dead worker accepted are
  found by every worker's look at the inbox (`SWEEP_EVERY`).
- **Delivery**: a worker sends a conversation's messages only while it holds that
  conversation's delivery lock (`Claims`, a session advisory lock: if the worker dies, the
  lock goes with its connection), and reads what is due only once it holds it.
- **Timers** run under one advisory lock per tick, and skip a case whose conversation is
  in a turn right now (bot/turns.py `run_due`).
- **Desk news** (escalations, customers writing on a handed-off case, timers) are
  published with NOTIFY in the transaction that made them; every worker LISTENs and tells
  its own console pages (and Discord, where it runs).
- **Sign-ins** are counted in the records (storage/sign_ins.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "heard_news"
RECONNECT = 2.0        # seconds before connecting again after losing the database
LEAD_EVERY = 10.0      # seconds between a worker's tries to take over the Discord desk
NEWS_TEXT = 1500       # characters of a customer's words carried in a notification (8 kB)


class Claims:
    """Session advisory locks on a connection of their own, released when this worker's
    connection ends (a crash included)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._held: set[str] = set()
        self._connecting = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        async with self._connecting:
            if self._conn is None or self._conn.closed:
                self._held.clear()      # a new connection holds nothing
                self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            return self._conn

    async def acquire(self, name: str) -> bool:
        """Take `name` if no worker holds it."""
        if name in self._held:
            return False
        conn = await self._connection()
        cur = await conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 1))", (name,))
        row = await cur.fetchone()
        if row and row[0]:
            self._held.add(name)
            return True
        return False

    async def release(self, name: str) -> None:
        if name not in self._held:
            return
        self._held.discard(name)
        conn = self._conn
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 1))", (name,))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class News:
    """LISTEN on `CHANNEL`; each notification's JSON goes to `handle`."""

    def __init__(self, url: str, handle: Callable[[dict[str, Any]], None]) -> None:
        self.url, self.handle = url, handle
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="news")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url,
                                                                 autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    async for note in conn.notifies():
                        try:
                            self.handle(json.loads(note.payload))
                        except Exception:
                            log.exception("shared: handling news %r failed", note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("shared: listening for news failed (%s); again in %.0f s",
                            type(exc).__name__, RECONNECT)
                await asyncio.sleep(RECONNECT)


def publish(store: Any, news: dict[str, Any]) -> None:
    """NOTIFY every worker, when the caller's transaction commits (PostgreSQL only)."""
    payload = json.dumps(news, ensure_ascii=False, separators=(",", ":"))
    store._x("SELECT pg_notify(?, ?)", (CHANNEL, payload))


class Shared:
    """A `heard serve` process as one of many over one PostgreSQL (see the module's
    docstring): wired into its server at start."""

    def __init__(self, server: Any, url: str) -> None:
        self.server, self.url = server, url
        self.claims = Claims(url)
        self.news = News(url, self._heard)
        self._leading: asyncio.Task[None] | None = None
        server.delivery.claims = self.claims
        self.discord_here = False
        if server.discord_desk is not None:      # Discord runs on one worker: the leader
            server.desk.desks.remove(server.discord_desk)

    async def start(self) -> None:
        self.news.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.news.ready.wait(), 10)
        self.server.desk.relay = self._publish      # news now goes through the database
        self.server.dispatcher.start_sweeping()
        if self.server.discord is not None:
            self._leading = asyncio.get_running_loop().create_task(self._lead_discord())

    async def stop(self) -> None:
        self.server.desk.relay = None
        await self.server.dispatcher.stop_sweeping()
        if self._leading is not None:
            self._leading.cancel()
            await asyncio.gather(self._leading, return_exceptions=True)
        await self.news.stop()
        await self.claims.close()

    async def _lead_discord(self) -> None:
        """Whichever worker holds the "discord" lock runs the Discord desk; the others try
        again every `LEAD_EVERY` seconds, so another takes over when it dies."""
        while True:
            try:
                if await self.claims.acquire("discord"):
                    self.server.desk.desks.append(self.server.discord_desk)
                    self.server.discord_desk.start()
                    self.server.discord.start()
                    self.discord_here = True
                    log.info("shared: this worker runs the Discord desk")
                    return
            except Exception as exc:
                log.warning("shared: cannot ask for the Discord desk (%s)", type(exc).__name__)
            await asyncio.sleep(LEAD_EVERY)

    async def _publish(self, what: str, case: Any, args: tuple[Any, ...]) -> None:
        """Every worker's desks hear it (through the database, on commit)."""
        news = {"what": what, "n": case.number,
                "args": [a[:NEWS_TEXT] if isinstance(a, str) else a for a in args]}
        await self.server.writer.run(lambda s: publish(s, news), urgent=True)

    def _heard(self, news: dict[str, Any]) -> None:
        what, number, args = news.get("what"), news.get("n"), news.get("args") or []
        if isinstance(what, str) and isinstance(number, str):
            self.server._track(self._tell(what, number, tuple(args)))

    async def _tell(self, what: str, number: str, args: tuple[Any, ...]) -> None:
        try:
            case = await self.server.writer.read(lambda s: s.get_case(number))
            if case is not None:
                await self.server.desk.tell_here(what, case, *args)
        except Exception:
            log.exception("shared: telling the desks about %s failed", number)
