"""`heard serve` as a real process against a fault-injecting LINE stub, customers who write
over time (LINE redelivering what was not answered 200), and a tally of what each customer
received. The crash test and `benchmarks/faults.py` run the same scenarios.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import aiohttp

from tests.channels import line_body, line_event, sign
from tests.processes import free_port
from tests.stubs import LINE_SECRET, LINE_TOKEN, TIMEOUT, LineStub

ROOT = Path(__file__).resolve().parent.parent
SAYS = ("我買的耳機右耳沒有聲音", "對", "還要多久？", "好的謝謝")


class Heard:
    """`heard serve` in its own processes (by default a supervisor, an HTTP worker and a
    turn worker on a 2-core machine), to be killed and started again, whole or one worker
    at a time."""

    def __init__(self, db: Path, line: LineStub, *, root: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        """`db`: the SQLite file (its log beside it), unless `env` sets HEARD_DB."""
        self.db, self.line, self.root, self.extra = db, line, root, env or {}
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "HEARD_DB": str(self.db), "HEARD_PORT": str(self.port),
               "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
               "LINE_API_HOST": self.line.url, "LINE_DATA_HOST": self.line.url, "TELEGRAM_BOT_TOKEN": "",
               "HEARD_LOG_LEVEL": "WARNING", "HEARD_WORKERS": "2", **self.extra}
        self._log = self.db.with_suffix(".log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=self.root, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self._log)
        async with aiohttp.ClientSession() as http:
            for _ in range(400):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError("heard serve did not start")

    def workers(self) -> dict[int, str]:
        """The supervisor's workers now: pid -> role ("turns", "http:0:1")."""
        if self.process is None:
            return {}
        return worker_roles(self.process.pid)

    async def kill_worker(self, role: str) -> int:
        """SIGKILL the worker whose role starts with `role`; the supervisor starts it
        again. Returns the killed pid."""
        pid = next(p for p, r in self.workers().items() if r.startswith(role))
        os.kill(pid, signal.SIGKILL)
        return pid

    async def kill(self) -> None:
        """Everything dies at once (the machine lost power): workers first, then the
        supervisor, all with SIGKILL (a dying supervisor would stop its workers gently)."""
        for pid in self.workers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        await self._end(signal.SIGTERM)

    async def _end(self, how: signal.Signals) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(how)
            await self.process.wait()
        if self._log is not None:
            self._log.close()


def worker_roles(parent: int) -> dict[int, str]:
    roles = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) != parent:
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        role = next((v.split(b"=", 1)[1].decode() for v in env
                     if v.startswith(b"HEARD_WORKER=")), "")
        if role:
            roles[int(entry.name)] = role
    return roles


class Customers:
    """LINE customers, each saying `SAYS` in order. LINE issues a reply token with every
    event it sends and sends again what was not answered 200."""

    def __init__(self, line: LineStub, count: int, tag: str) -> None:
        self.line, self.tag = line, tag
        self.users = [f"U{tag}{i:05d}".ljust(33, "0") for i in range(count)]
        self.said: dict[str, bytes] = {}
        self.accepted: set[str] = set()

    def event(self, customer: int, n: int) -> tuple[str, bytes]:
        event_id = f"01{self.tag}{customer:05d}{n:03d}".ljust(26, "0")
        body = line_body(line_event("text", self.users[customer], event_id, text=SAYS[n]))
        return event_id, body

    async def say(self, http: aiohttp.ClientSession, url: str, customer: int, n: int) -> bool:
        event_id, body = self.event(customer, n)
        self.said[event_id] = body
        return await self.post(http, url, event_id, body)

    async def post(self, http: aiohttp.ClientSession, url: str, event_id: str,
                   body: bytes) -> bool:
        self.line.issue_tokens(body)
        try:
            async with http.post(f"{url}/webhooks/line", data=body,
                                 headers={"X-Line-Signature": sign(body)}) as r:
                ok = r.status == 200
        except aiohttp.ClientError:
            ok = False
        if ok:
            self.accepted.add(event_id)
        return ok

    async def converse(self, http: aiohttp.ClientSession, url: str, customer: int,
                       gap: float, start: float = 0.0) -> None:
        await asyncio.sleep(start)
        for n in range(len(SAYS)):
            await self.say(http, url, customer, n)
            if n < len(SAYS) - 1:
                await asyncio.sleep(gap)

    async def redeliver(self, http: aiohttp.ClientSession, url: str, every: int = 0) -> None:
        """What was not answered 200 (and, with `every`, some of what was) comes again."""
        for i, (event_id, body) in enumerate(sorted(self.said.items())):
            if event_id not in self.accepted or (every and i % every == 0):
                assert await self.post(http, url, event_id, body), "redelivery refused"


@dataclass
class Tally:
    """What the customers' side saw, against what Heard recorded."""

    events: int = 0
    recorded_once: int = 0
    replies: int = 0
    delivered_once: int = 0
    lost: int = 0
    lost_but_marked_sent: int = 0
    doubled: int = 0
    out_of_order: int = 0
    customers_missing_replies: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"events {self.recorded_once}/{self.events} recorded once; replies "
                f"{self.delivered_once}/{self.replies} delivered once, {self.lost} lost "
                f"({self.lost_but_marked_sent} of them marked sent), {self.doubled} doubled, "
                f"{self.out_of_order} out of order; {self.customers_missing_replies} customers "
                f"missing replies; outbox {dict(sorted(self.statuses.items()))}")


def query(records: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """Rows from the records, a SQLite file or a PostgreSQL URL, read as they are now."""
    if isinstance(records, str) and records.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(records, autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(sql).fetchall()]
    conn = sqlite3.connect(records, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def tally(db: Path | str, line: LineStub, customers: Customers) -> Tally:
    inbound = Counter(r[0] for r in query(
        db, "SELECT event_id FROM messages WHERE direction = 'in' AND channel = 'line'"))
    rows = query(db, "SELECT conversation_key, text, status FROM outbox "
                     "WHERE channel = 'line' ORDER BY id")
    statuses = {str(k): int(n) for k, n in
                query(db, "SELECT status, count(*) FROM outbox GROUP BY status")}
    result = Tally(events=len(customers.said), replies=len(rows), statuses=statuses)
    result.recorded_once = sum(1 for e in customers.said if inbound.get(e) == 1)
    expected: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, text, status in rows:
        expected[key.partition(":")[2]].append((text, status))
    received: dict[str, list[str]] = defaultdict(list)
    for user, text in line.received:
        received[user].append(text)
    for user in set(expected) | set(received):
        lost_before = result.lost
        _match(expected[user], received[user], result)
        result.customers_missing_replies += result.lost > lost_before
    return result


def _match(expected: list[tuple[str, str]], received: list[str], result: Tally) -> None:
    """Each received text takes the earliest unmatched message with that text."""
    matched = [False] * len(expected)
    positions: list[int] = []
    for text in received:
        found = next((k for k, (t, _) in enumerate(expected) if t == text and not matched[k]),
                     None)
        if found is None:
            result.doubled += 1
            continue
        matched[found] = True
        positions.append(found)
    result.out_of_order += sum(1 for a, b in pairwise(positions) if b < a)
    for k, (_, status) in enumerate(expected):
        if matched[k]:
            result.delivered_once += 1
        else:
            result.lost += 1
            result.lost_but_marked_sent += status == "sent"


def settled(db: Path | str) -> bool:
    """Nothing left to process or to send (or to retry)."""
    try:
        return int(query(db, "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending') + "
                             "(SELECT count(*) FROM outbox WHERE status = 'pending')")[0][0]) == 0
    except Exception:      # not created yet
        return False


async def until(check: Callable[[], bool], timeout: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(every)
    return check()


# ---------------------------------------------------------------- scenarios

FAULTS: dict[str, list[tuple[int | str, dict[str, str]]]] = {
    "500": [(500, {})],
    "429": [(429, {"Retry-After": "2"})],
    "timeout": [(TIMEOUT, {})],
    "mixed": [(500, {}), (TIMEOUT, {}), (429, {"Retry-After": "2"})],
}


async def outage_under_load(tmp: Path, *, seconds: float, fault: str = "mixed",
                            customers: int = 50, env: dict[str, str] | None = None,
                            root: Path = ROOT, token_ttl: float = 60.0,
                            gap: float | None = None, spread: float | None = None,
                            settle_for: float = 240.0) -> Tally:
    """Customers keep writing through a LINE outage of `seconds` (one fault after another
    for "mixed"); afterwards everything due is sent. Heard is not restarted. Customers
    start `spread` seconds apart in all and wait `gap` seconds between their messages."""
    line = LineStub(token_ttl=token_ttl)
    line.hang = 15.0
    await line.start()
    heard = Heard(tmp / f"outage-{fault}.db", line, root=root, env=env)
    await heard.start()
    people = Customers(line, customers, "OUT")
    gap = gap if gap is not None else max(1.0, seconds / 8)
    spread = spread if spread is not None else seconds + 2 * gap
    try:
        async with aiohttp.ClientSession() as http:
            talks = [asyncio.ensure_future(people.converse(http, heard.url, i, gap,
                                                           start=i * spread / customers))
                     for i in range(customers)]
            await asyncio.sleep(2.0)
            await _outage(line, fault, seconds)
            await asyncio.gather(*talks)
            await people.redeliver(http, heard.url)
            await until(lambda: settled(heard.db), settle_for)
    finally:
        await heard.stop()
        await line.stop()
    return tally(heard.db, line, people)


async def _outage(line: LineStub, fault: str, seconds: float) -> None:
    steps = FAULTS[fault]
    for status, headers in steps:
        line.outage(status, headers=headers)
        await asyncio.sleep(seconds / len(steps))
    line.recover()


async def slow_restart(tmp: Path, *, down_for: float, customers: int = 10,
                       env: dict[str, str] | None = None, root: Path = ROOT,
                       token_ttl: float = 60.0) -> Tally:
    """Heard dies while LINE is still answering replies it already delivered, and comes
    back after the reply tokens expired."""
    line = LineStub(token_ttl=token_ttl)
    line.delay = 3.0
    await line.start()
    heard = Heard(tmp / "slow.db", line, root=root, env=env)
    await heard.start()
    people = Customers(line, customers, "SLOW")
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(people.say(http, heard.url, i, 0) for i in range(customers)))
            await until(lambda: len(line.received) >= 2 * customers, 30, every=0.05)
            await heard.kill()                   # the answers are still on their way
            line.delay = 0.0
            await asyncio.sleep(down_for)
            await heard.start()
            await people.redeliver(http, heard.url)
            await until(lambda: settled(heard.db), 120)
    finally:
        await heard.stop()
        await line.stop()
    return tally(heard.db, line, people)


async def expired_tokens(tmp: Path, *, down_for: float, fail_after: float, customers: int = 100,
                         env: dict[str, str] | None = None, root: Path = ROOT,
                         token_ttl: float = 60.0) -> Tally:
    """Heard dies right after taking a batch of events (LINE failing with 500); it comes back
    `down_for` seconds later, and LINE keeps failing for `fail_after` seconds more."""
    line = LineStub(token_ttl=token_ttl)
    line.outage(500)
    await line.start()
    heard = Heard(tmp / "expired.db", line, root=root, env=env)
    await heard.start()
    people = Customers(line, customers, "EXP")
    bodies = [people.event(i, 0) for i in range(customers)]
    body = line_body(*[_only_event(b) for _, b in bodies])
    try:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            line.issue_tokens(body)
            async with http.post(f"{heard.url}/webhooks/line", data=body,
                                 headers={"X-Line-Signature": sign(body)}) as r:
                assert r.status == 200
            await heard.kill()
            for event_id, one in bodies:
                people.said[event_id] = one
                people.accepted.add(event_id)
            await asyncio.sleep(max(0.0, down_for - (time.monotonic() - started)))
            await heard.start()
            await asyncio.sleep(max(0.0, down_for + fail_after - (time.monotonic() - started)))
            line.recover()
            await until(lambda: settled(heard.db), 120)
    finally:
        await heard.stop()
        await line.stop()
    return tally(heard.db, line, people)


def _only_event(body: bytes) -> dict[str, Any]:
    return dict(json.loads(body)["events"][0])
