"""Kill `heard serve` with SIGKILL mid-stream, start it again: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import aiohttp

from tests.channels import line_body, line_event, sign
from tests.stubs import LINE_SECRET, LINE_TOKEN, LineStub

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 240
KILL_AFTER = 80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_server(db: Path, port: int, line: LineStub) -> asyncio.subprocess.Process:
    env = {**os.environ, "HEARD_DB": str(db), "HEARD_PORT": str(port),
           "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
           "LINE_API_HOST": line.url, "TELEGRAM_BOT_TOKEN": "", "HEARD_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("heard serve did not start")


def event(n: int) -> bytes:
    # half the customers write twice, so order within a conversation matters too
    user = f"Ucrash{n % (EVENTS // 2):04d}"
    text = "我買的耳機右耳沒有聲音" if n < EVENTS // 2 else "對"
    return line_body(line_event("text", user, f"01CRASH{n:019d}", text=text))


async def post(http: aiohttp.ClientSession, url: str, body: bytes) -> bool:
    try:
        async with http.post(url, data=body, headers={"X-Line-Signature": sign(body)}) as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def test_sigkill_mid_stream_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    line = LineStub()
    await line.start()
    db, port = tmp_path / "crash.db", free_port()
    url = f"http://127.0.0.1:{port}/webhooks/line"
    process = await start_server(db, port, line)
    accepted: set[int] = set()
    async with aiohttp.ClientSession() as http:
        for n in range(KILL_AFTER):          # first conversation turns, in order
            if await post(http, url, event(n)):
                accepted.add(n)
        # a burst in flight when the process dies
        burst = [asyncio.ensure_future(post(http, url, event(n)))
                 for n in range(KILL_AFTER, EVENTS // 2)]
        await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        for n, task in zip(range(KILL_AFTER, EVENTS // 2), burst, strict=True):
            if await task:
                accepted.add(n)
        unfinished = _unfinished(db) + (EVENTS // 2 - len(accepted))
        assert unfinished > 0, "the kill came after everything was done: not a crash test"

        process = await start_server(db, port, line)
        try:
            # LINE redelivers what was not answered 200, and sometimes what was
            for n in range(EVENTS):
                if n not in accepted or n % 7 == 0:
                    assert await post(http, url, event(n))
                    accepted.add(n)
            await line.wait_for(lambda: _outgoing_done(db), timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    await line.stop()

    conn = sqlite3.connect(db)
    inbound = Counter(r[0] for r in conn.execute(
        "SELECT event_id FROM messages WHERE direction = 'in'"))
    assert len(inbound) == EVENTS and set(inbound.values()) == {1}
    outgoing = conn.execute("SELECT count(*) FROM messages WHERE direction = 'out'").fetchone()[0]
    statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    assert statuses == {"sent": outgoing}
    delivered = Counter(m["text"] + "|" + call.get("replyToken", call.get("to", ""))
                        for call in line.replies + line.pushes for m in call["messages"])
    assert sum(delivered.values()) == outgoing and set(delivered.values()) == {1}
    assert outgoing == 3 * (EVENTS // 2)   # per customer: ack + restatement, then the offer
    stages = Counter(r[0] for r in conn.execute("SELECT stage FROM cases"))
    assert stages == {"offering": EVENTS // 2}


def _unfinished(db: Path) -> int:
    """Work the killed process left: events not processed, messages not sent."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending') + "
            "(SELECT count(*) FROM outbox WHERE status = 'pending')").fetchone()[0])
    finally:
        conn.close()


def _outgoing_done(db: Path) -> bool:
    conn = sqlite3.connect(db, timeout=5)
    try:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
        inbox = conn.execute("SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()[0]
        cases = conn.execute("SELECT count(*) FROM cases WHERE stage = 'offering'").fetchone()[0]
    finally:
        conn.close()
    return bool(pending == 0 and inbox == 0 and cases == EVENTS // 2)
