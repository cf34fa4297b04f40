"""`heard serve` killed with SIGKILL and started again, and LINE failing for minutes under
load: every event recorded once, every reply delivered once, in order per customer.

Real processes and real time. The slow-restart and expired-token scenarios shorten LINE's
reply-token minute (the stub's `token_ttl` and Heard's LINE_REPLY_TOKEN_SECONDS together,
a fifth of the real values): the behaviour is the same, the wait is not. The outage runs
once short and once for the two minutes the issue asks for, with real token times.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.crashes import (
    Customers,
    Heard,
    Tally,
    expired_tokens,
    outage_under_load,
    settled,
    slow_restart,
    tally,
    until,
)
from tests.stubs import LineStub

SHORT_TOKENS = {"LINE_REPLY_TOKEN_SECONDS": "10"}   # with the stub's token_ttl=12
CUSTOMERS = 120
KILL_AFTER = 80


def all_delivered_once(result: Tally) -> None:
    assert result.recorded_once == result.events, result.line()
    assert result.delivered_once == result.replies, result.line()
    assert result.lost == result.doubled == result.out_of_order == 0, result.line()


async def test_sigkill_mid_stream_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    line = LineStub()
    await line.start()
    heard = Heard(tmp_path / "crash.db", line)
    await heard.start()
    people = Customers(line, CUSTOMERS, "CRASH")
    async with aiohttp.ClientSession() as http:
        for i in range(KILL_AFTER):                 # first turns, one after another
            await people.say(http, heard.url, i, 0)
        burst = [asyncio.ensure_future(people.say(http, heard.url, i, 0))
                 for i in range(KILL_AFTER, CUSTOMERS)]
        await asyncio.sleep(0.01)
        await heard.kill()                          # a burst in flight when it dies
        await asyncio.gather(*burst)
        assert not settled(heard.db) or len(people.accepted) < CUSTOMERS, \
            "the kill came after everything was done: not a crash test"

        await heard.start()
        try:
            await people.redeliver(http, heard.url, every=7)   # LINE sends some twice
            for i in range(CUSTOMERS):
                await people.say(http, heard.url, i, 1)
            assert await until(lambda: settled(heard.db) and _offering(heard.db) == CUSTOMERS,
                               60)
        finally:
            await heard.stop()
    await line.stop()

    result = tally(heard.db, line, people)
    all_delivered_once(result)
    assert result.replies == 3 * CUSTOMERS     # per customer: ack + restatement, then the offer
    # a reply under way at the kill that LINE had taken is kept for the team, never resent
    assert set(result.statuses) <= {"sent", "unconfirmed"}


@pytest.mark.parametrize("role", ["http", "turns"])
async def test_killing_one_worker_under_load_loses_nothing_and_sends_nothing_twice(
        tmp_path: Path, role: str) -> None:
    """`heard serve` with its default workers (an HTTP worker and a turn worker here):
    one of them is SIGKILLed while customers keep writing; the supervisor starts it again,
    LINE sends again what was not answered 200, and every event is recorded once, every
    reply delivered once, in order."""
    line = LineStub()
    await line.start()
    heard = Heard(tmp_path / "workers.db", line, env={"HEARD_WORKERS": "2"})
    await heard.start()
    people = Customers(line, CUSTOMERS, "W" + role.upper()[:4])
    async with aiohttp.ClientSession() as http:
        before = heard.workers()
        assert sorted(before.values()) == ["http:0:1", "turns"]
        for i in range(KILL_AFTER // 2):
            await people.say(http, heard.url, i, 0)
        burst = [asyncio.ensure_future(people.say(http, heard.url, i, 0))
                 for i in range(KILL_AFTER // 2, CUSTOMERS)]
        await asyncio.sleep(0.05)
        killed = await heard.kill_worker(role)      # mid-stream
        await asyncio.gather(*burst)
        assert not settled(heard.db), "the kill came after everything was done"
        assert await until(lambda: len(heard.workers()) == 2 and killed not in heard.workers(),
                           30), "the supervisor did not start the worker again"
        assert await _up(http, heard.url, 60)
        await people.redeliver(http, heard.url, every=7)   # LINE sends some twice
        for i in range(CUSTOMERS):
            await people.say(http, heard.url, i, 1)
        assert await until(lambda: settled(heard.db) and _offering(heard.db) == CUSTOMERS, 90)
        survivors = {pid for pid, r in heard.workers().items() if not r.startswith(role)}
        assert survivors and survivors <= set(before), "only the killed worker was restarted"
        await heard.stop()
    await line.stop()

    result = tally(heard.db, line, people)
    all_delivered_once(result)
    assert result.replies == 3 * CUSTOMERS
    # the turn worker sends nothing, so its death leaves no reply in doubt
    assert set(result.statuses) <= ({"sent"} if role == "turns" else {"sent", "unconfirmed"})


async def _up(http: aiohttp.ClientSession, url: str, timeout: float) -> bool:
    for _ in range(int(timeout / 0.1)):
        try:
            async with http.get(f"{url}/healthz") as r:
                if r.status == 200:
                    return True
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    return False


async def test_a_slow_restart_says_nothing_twice(tmp_path: Path) -> None:
    """Killed while LINE was still answering replies it had delivered; back after their
    tokens expired. Pushing them would say everything twice (the issue: 20 duplicates)."""
    result = await slow_restart(tmp_path, down_for=14, env=SHORT_TOKENS, token_ttl=12)
    all_delivered_once(result)
    assert result.statuses == {"unconfirmed": result.replies}
    alerts = _events(tmp_path / "slow.db", "delivery_failed")
    assert len(alerts) == 10                        # one per case: the team checks them


async def test_tokens_are_timed_from_the_webhook_across_a_restart(tmp_path: Path) -> None:
    """Killed right after taking 100 events, back 48 s (here 9.6 s) later, LINE failing
    13 s (2.6 s) more: the issue lost 200 of 202 replies and marked them sent."""
    result = await expired_tokens(tmp_path, down_for=9.6, fail_after=2.6, env=SHORT_TOKENS,
                                  token_ttl=12)
    all_delivered_once(result)
    assert result.lost_but_marked_sent == 0
    assert result.statuses == {"sent": result.replies}


@pytest.mark.parametrize(("seconds", "env", "token_ttl"), [
    (20.0, SHORT_TOKENS, 12.0),
    (120.0, {}, 60.0),
], ids=["20s-short-tokens", "2min"])
async def test_an_outage_under_load_loses_and_doubles_nothing(
        tmp_path: Path, seconds: float, env: dict[str, str], token_ttl: float) -> None:
    """50 customers keep writing through LINE failing with 500s, then timeouts, then 429s
    (Retry-After 2); the issue lost 31% of the replies in 90 s and reordered others."""
    result = await outage_under_load(tmp_path, seconds=seconds, fault="mixed", env=env,
                                     token_ttl=token_ttl, gap=min(5.0, seconds / 8),
                                     spread=seconds)
    all_delivered_once(result)
    assert result.statuses == {"sent": result.replies}


def _offering(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM cases WHERE stage = 'offering'")
                   .fetchone()[0])
    finally:
        conn.close()


def _events(db: Path, kind: str) -> list[str]:
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute("SELECT case_number FROM case_events WHERE kind = ?", (kind,))
        return sorted(Counter(r[0] for r in rows))
    finally:
        conn.close()
