"""Three `heard serve` workers over one PostgreSQL, under load, two of them SIGKILLed
mid-stream (one after the other, different workers): LINE sends again what was not
answered 200, and still every event is recorded once, every reply delivered once and in
order, and every timer fired once (handed-off cases past their first-response target,
some there before the workers started, some written while they ran: each gets one SLA
breach and its customer one "still handling" message).

A customer's second message follows the first at once, so it often reaches another
worker while the first one's turn runs: still one case per customer, turns in order.

Real processes, a real PostgreSQL (tests/postgres.py) and real time; the timers are
looked at every half second by every worker, so they race for them all along.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.turns import handle_incoming
from bot.types import Incoming
from dialogs.loader import default_dialog_path, load_dialog
from storage.store import Store
from tests.crashes import Customers, Heard, query, settled, tally, until
from tests.stubs import LineStub
from tests.test_crash import all_delivered_once

CUSTOMERS = 60
WAITING = 12         # handed-off cases past their target, per batch (two batches)


def seed_waiting(url: str, tag: str) -> list[str]:
    """Customers who asked for a person a week ago and nobody took them: their cases are
    past the first-response target (a day was not enough: asked on a Monday evening, the
    target is the Wednesday morning), so the next look at the timers breaches each once.
    They wrote on the web chat, so the LINE tally counts only the customers writing now;
    what they were told then is on record as sent."""
    dialog = load_dialog(default_dialog_path())
    then = datetime.now(UTC) - timedelta(days=7)
    store = Store.open(url)
    numbers = []
    try:
        for i in range(WAITING):
            incoming = Incoming(channel="web", user_id=f"{tag}-{i}",
                                event_id=f"seed-{tag}-{i}", received_at=then,
                                text="我要找真人客服，訂單 A1234567 的耳機沒有聲音")
            with store.transaction():
                result = handle_incoming(store, dialog, incoming, then)
                assert result is not None and result.step.case is not None
                for outbox_id in result.outbox_ids:
                    store.mark_sent(outbox_id, then)
            case = result.step.case
            assert case.stage == "handoff" and case.owner == "team", case.stage
            assert case.first_response_due is not None
            assert case.first_response_due < datetime.now(UTC), case.first_response_due
            numbers.append(case.number)
    finally:
        store.close()
    return numbers


async def test_three_workers_lose_nothing_when_two_are_killed(tmp_path: Path,
                                                              pg_url: str) -> None:
    line = LineStub()
    await line.start()
    waiting = seed_waiting(pg_url, "SLA1")
    heard = Heard(tmp_path / "pg.db", line, env={
        "HEARD_DB": pg_url, "HEARD_WORKERS": "3", "HEARD_TIMERS_EVERY": "0.5"})
    await heard.start()
    people = Customers(line, CUSTOMERS, "PGW")
    try:
        async with aiohttp.ClientSession() as http:
            before = heard.workers()
            assert sorted(before.values()) == ["peer:0:3", "peer:1:3", "peer:2:3"]
            talks = [asyncio.ensure_future(_talk(people, http, heard.url, i))
                     for i in range(CUSTOMERS)]
            await asyncio.sleep(0.5)
            first = await heard.kill_worker("peer:0")            # mid-stream
            assert not all(t.done() for t in talks), "the kill came after the customers"
            waiting += await asyncio.to_thread(seed_waiting, pg_url, "SLA2")
            await asyncio.sleep(0.5)
            second = await heard.kill_worker("peer:1")           # another one
            assert not all(t.done() for t in talks), "the kill came after the customers"
            await asyncio.gather(*talks)
            assert await until(lambda: len(heard.workers()) == 3
                               and not {first, second} & set(heard.workers()), 60), \
                "the supervisor did not start the killed workers again"
            await people.redeliver(http, heard.url, every=7)     # LINE sends some twice
            assert await until(lambda: settled(pg_url) and _breached(pg_url) == len(waiting),
                               120)
    finally:
        await heard.stop()
        await line.stop()

    result = tally(pg_url, line, people)
    all_delivered_once(result)
    # a worker killed during a platform call leaves that reply in doubt: delivered once
    # (above), kept as unconfirmed and the team told, never sent again
    assert set(result.statuses) <= {"sent", "unconfirmed"}, result.statuses
    doubled = query(pg_url, "SELECT conversation_key FROM cases GROUP BY conversation_key "
                            "HAVING count(*) > 1")
    assert doubled == []                                         # one case per customer
    breaches = query(pg_url, "SELECT case_number, count(*) FROM case_events "
                             "WHERE kind = 'sla_breach' GROUP BY case_number")
    assert sorted(breaches) == sorted((n, 1) for n in waiting)   # each timer fired once
    told = query(pg_url, "SELECT case_number, count(*) FROM outbox WHERE channel = 'web' "
                         "AND kind = 'push' AND status = 'sent' GROUP BY case_number")
    assert sorted(told) == sorted((n, 1) for n in waiting)       # "still handling", once


async def _talk(people: Customers, http: aiohttp.ClientSession, url: str, i: int) -> None:
    """The first two messages right after each other (the second usually reaches another
    worker while the first one's turn runs), then the rest a second apart."""
    await asyncio.sleep(i * 0.03)
    for n, gap in ((0, 0.0), (1, 1.0), (2, 1.0), (3, 0.0)):
        await people.say(http, url, i, n)
        await asyncio.sleep(gap)


def _breached(url: str) -> int:
    return int(query(url, "SELECT count(DISTINCT case_number) FROM case_events "
                          "WHERE kind = 'sla_breach'")[0][0])
