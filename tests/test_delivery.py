"""Delivery through a failing LINE: retried for hours, alerting the team when it gives up,
reply tokens judged by when the webhook arrived and never taken as delivered on a guess,
nothing said twice after a crash, and every customer's messages in order.

The server, the LINE stub and the test share one virtual clock: a reply token's minute, a
429's Retry-After and a six-hour age limit pass when the test moves the clock.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings, SettingsError
from bot.types import Incoming, incoming_to_dict
from storage.store import Store
from tests.channels import Clock, Served, line_body, line_event, serving
from tests.stubs import LINE_TOKEN, LineStub

USER = "U206d25c2ea6bd87c17655609a1c37cb8"
OTHER = "U99999999999999999999999999999999"


async def say(s: Served, n: int = 0, text: str = "包裹還沒到", user: str = USER) -> None:
    await s.post_line(line_body(line_event("text", user, f"01DELIVERY{n:016d}", text=text)))
    await s.server.dispatcher.drain()


async def later(s: Served, clock: Clock, seconds: float) -> None:
    """Time passes; whatever is due by then is sent."""
    clock.now += timedelta(seconds=seconds)
    await s.server.delivery.send_due()


async def until_quiet(s: Served, clock: Clock, hours: float) -> int:
    """Move the clock from one retry to the next for `hours`; returns the tries made."""
    tries, end = 0, clock.now + timedelta(hours=hours)
    while clock.now < end:
        rows = await s.read(lambda st: st.pending_outbox())
        if not rows:
            break
        clock.now = max(clock.now, min(_at(r["next_try_ts"]) for r in rows))
        clock.now += timedelta(milliseconds=1)     # past the float timestamp's rounding
        await s.server.delivery.send_due()
        tries += 1
    return tries


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def outbox(s: Served) -> list[dict[str, Any]]:
    return await s.read(lambda st: list(st.db.query("SELECT * FROM outbox ORDER BY id")))


def received(line: LineStub, user: str = USER) -> list[str]:
    return [text for who, text in line.received if who == user]


# ---------------------------------------------------------------- item 1: outages


async def test_a_long_outage_is_ridden_out_and_each_reply_arrives_once(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.line.outage(500)
        await say(s)
        tries = await until_quiet(s, clock, hours=1)
        assert tries > 20 and received(s.line) == []           # far beyond six tries
        assert {r["status"] for r in await outbox(s)} == {"pending"}
        metrics = await (await s.http.get(f"{s.url}/metrics")).text()
        late = re.search(r"^heard_outbox_oldest_pending_seconds (\S+)$", metrics, re.M)
        assert late and float(late.group(1)) >= 3600          # an hour late, visibly
        s.line.recover()
        await until_quiet(s, clock, hours=1)
        assert len(received(s.line)) == 2                       # ack + restatement, once
        assert {r["status"] for r in await outbox(s)} == {"sent"}
        assert len(s.line.pushes) == 1 and s.line.replies == []   # the token had expired
        assert s.server.metrics.value("heard_delivery_retries_total", channel="line") == tries


async def test_a_429_waits_as_told_and_slows_the_whole_channel(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.line.fail("reply", 429, headers={"Retry-After": "30"})
        await say(s, 1)
        await s.server.delivery.send_due()
        row = (await s.read(lambda st: st.pending_outbox()))[0]
        assert row["next_try_ts"] - clock.now.timestamp() == 30
        await say(s, 2, user=OTHER)                 # another customer, same LINE channel
        await later(s, clock, 29)
        assert s.line.received == []                # LINE said slow down: nobody is sent
        await later(s, clock, 2)
        assert len(received(s.line)) == 2 and len(received(s.line, OTHER)) == 2
        assert len(s.line.replies) == 2             # both tokens still fresh


async def test_timeouts_are_retried_while_the_token_is_fresh(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.server.line.timeout = 0.2
        s.line.hang = 1.0
        s.line.fail("reply", "timeout", times=2)
        await say(s)
        await s.server.delivery.send_due()
        await later(s, clock, 2)
        assert received(s.line) == []
        await later(s, clock, 4)
        assert len(received(s.line)) == 2 and len(s.line.replies) == 1


async def test_giving_up_at_the_age_limit_alerts_the_team(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock, delivery_max_age=2 * 3600.0) as s:
        listener = s.server.hub.listen()
        s.line.outage(503)
        await say(s)
        await until_quiet(s, clock, hours=3)
        rows = await outbox(s)
        assert {r["status"] for r in rows} == {"failed"}
        assert all("not delivered in 2.0 h" in r["error"] for r in rows)
        last_try = clock.now - _at(rows[0]["created_ts"])
        assert abs(last_try - timedelta(hours=2)) < timedelta(seconds=1)   # the last try at 2 h
        alert = await asyncio.wait_for(listener.get(), timeout=2)
        assert alert["type"] == "delivery" and alert["status"] == "failed"
        number = rows[0]["case_number"]
        assert alert["case"]["number"] == number
        events = await s.read(lambda st: st.events(number))
        assert [e["data"]["status"] for e in events if e["kind"] == "delivery_failed"] == ["failed"]
        metrics = await (await s.http.get(f"{s.url}/metrics")).text()
        assert 'heard_delivery_failures_total{channel="line"} 2' in metrics
        assert 'heard_outbox_messages{status="failed"} 2' in metrics
        assert "heard_outbox_oldest_pending_seconds 0" in metrics
        s.line.recover()
        await later(s, clock, 3600)
        assert received(s.line) == []               # failed is final: never sent late


async def test_a_refused_message_fails_at_once_and_is_alerted(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        listener = s.server.hub.listen()
        s.line.fail("reply", 500)
        await say(s)
        await s.server.delivery.send_due()
        s.line.fail("push", 400, body={"message": "The request body has 1 error(s)"})
        await later(s, clock, 60)                   # the token is old now: push -> 400
        assert {r["status"] for r in await outbox(s)} == {"failed"}
        assert (await asyncio.wait_for(listener.get(), timeout=2))["status"] == "failed"
        assert s.server.metrics.value("heard_delivery_failures_total", channel="line") == 2


# ---------------------------------------------------------------- item 2: reply tokens


async def test_token_age_counts_from_the_webhook_not_from_processing(tmp_path: Path) -> None:
    """The issue's case: Heard died after keeping a webhook, came back 48 s later, and LINE
    failed 13 s more. Processed at once on restart, the token looked fresh; it was not."""
    clock = Clock()
    arrived = clock.now
    db = tmp_path / "h.db"
    incoming = Incoming(channel="line", user_id=USER, event_id="01DELIVERY0000000000000048",
                        received_at=arrived, text="我買的耳機右耳沒有聲音", reply_token="tok-48")
    store = Store.open(db)
    with store.transaction():
        store.add_inbox("line", "line:01DELIVERY0000000000000048", incoming.conversation_key,
                        incoming_to_dict(incoming), arrived)
    store.close()
    clock.now = arrived + timedelta(seconds=48)
    async with serving(db, clock=clock) as s:
        s.line.issued["tok-48"] = (USER, arrived.timestamp())   # LINE sent it at arrival
        s.line.outage(500)
        await s.server.dispatcher.drain()           # processed now, 48 s after arrival
        await s.server.delivery.send_due()          # still fresh: reply -> 500
        await later(s, clock, 2)                    # 50 s old: push -> 500
        await later(s, clock, 11)
        s.line.recover()                            # 61 s: the token is dead at LINE
        await until_quiet(s, clock, hours=1)
        assert len(received(s.line)) == 2
        assert {r["status"] for r in await outbox(s)} == {"sent"}
        assert [kind for kind, _, _ in s.line.calls].count("reply") == 1


async def test_a_token_refused_after_a_failed_try_is_pushed_not_taken_as_used(
        tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.line.token_ttl = 3.0                      # LINE let this token go early
        s.line.fail("reply", 500)
        await say(s)
        await s.server.delivery.send_due()          # 500: LINE answered, nothing sent
        await later(s, clock, 4)                    # fresh to us, refused by LINE (400)
        assert len(received(s.line)) == 2           # pushed, not assumed delivered
        assert len(s.line.pushes) == 1
        assert {r["status"] for r in await outbox(s)} == {"sent"}


async def test_the_stub_refuses_expired_and_reused_tokens_like_line() -> None:
    clock = Clock()
    line = LineStub(token_ttl=60, clock=clock)
    await line.start()
    line.issue_tokens(line_body(line_event("text", USER, "01STUB00000000000000000001",
                                           text="hi", token="t1")))
    line.issue_tokens(line_body(line_event("text", USER, "01STUB00000000000000000002",
                                           text="hi", token="t2")))
    headers = {"Authorization": f"Bearer {LINE_TOKEN}"}

    async def reply(token: str) -> int:
        body = {"replyToken": token, "messages": [{"type": "text", "text": "ok"}]}
        async with http.post(f"{line.url}/v2/bot/message/reply", json=body,
                             headers=headers) as r:
            return r.status

    async with aiohttp.ClientSession() as http:
        assert await reply("t1") == 200
        assert await reply("t1") == 400             # used
        clock.now += timedelta(seconds=61)
        assert await reply("t2") == 400             # expired
        assert await reply("never-issued") == 400
    await line.stop()
    assert line.received == [(USER, "ok")]


# ---------------------------------------------------------------- item 3: after a crash


async def crashed_mid_reply(s: Served, landed: bool) -> list[dict[str, Any]]:
    """Heard recorded the reply as under way and died before hearing LINE's answer;
    `landed`: LINE had delivered it."""
    await say(s)
    rows = await s.read(lambda st: st.pending_outbox())
    await s.read(lambda st: [st.outbox_trying(r["id"], "reply", True) for r in rows])
    if landed:
        token = rows[0]["reply_token"]
        s.line.used_tokens.add(token)
        s.line.received.extend((USER, r["text"]) for r in rows)
    return list(rows)


async def test_a_slow_restart_does_not_push_a_reply_that_may_have_landed(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        listener = s.server.hub.listen()
        await crashed_mid_reply(s, landed=True)
        await later(s, clock, 70)                   # back after the token's minute
        assert s.line.pushes == [] and len(received(s.line)) == 2   # not said twice
        rows = await outbox(s)
        assert {r["status"] for r in rows} == {"unconfirmed"}
        alert = await asyncio.wait_for(listener.get(), timeout=2)
        assert alert["type"] == "delivery" and alert["status"] == "unconfirmed"
        assert s.server.metrics.value("heard_delivery_unconfirmed_total", channel="line") == 2
        await later(s, clock, 3600)
        assert s.line.pushes == []                  # and never later either


async def test_a_fast_restart_finds_out_with_the_token_itself(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        await crashed_mid_reply(s, landed=False)
        await later(s, clock, 5)                    # the reply never left: the token works
        assert len(received(s.line)) == 2 and len(s.line.replies) == 1
        assert {r["status"] for r in await outbox(s)} == {"sent"}


async def test_a_refused_token_in_doubt_is_never_taken_as_delivered(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        await crashed_mid_reply(s, landed=True)
        s.line.fail("reply", 500)                   # LINE fails the first look, too
        await later(s, clock, 5)
        assert {r["status"] for r in await outbox(s)} == {"pending"}
        await later(s, clock, 5)                    # refused: used, or expired early?
        assert {r["status"] for r in await outbox(s)} == {"unconfirmed"}
        assert s.line.pushes == [] and len(received(s.line)) == 2


async def test_a_push_under_way_at_a_crash_is_retried_with_its_key(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        await say(s)
        rows = await s.read(lambda st: st.pending_outbox())
        await s.read(lambda st: [st.outbox_trying(r["id"], "push", True) for r in rows])
        s.line.retry_keys.add(rows[0]["retry_key"])   # LINE accepted it before the crash
        s.line.received.extend((USER, r["text"]) for r in rows)
        await later(s, clock, 70)
        assert len(received(s.line)) == 2 and s.line.pushes == []   # 409: already there
        assert {r["status"] for r in await outbox(s)} == {"sent"}


async def test_a_retried_push_keeps_one_retry_key(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.line.fail("reply", 500)
        s.line.fail("push", 503)
        await say(s)
        await s.server.delivery.send_due()          # reply: 500
        await later(s, clock, 60)                   # the token is old: push -> 503
        await later(s, clock, 60)                   # push again -> 200
        keys = [headers["X-Line-Retry-Key"] for kind, _, headers in s.line.calls
                if kind == "push"]
        assert len(keys) == 2 and keys[0] == keys[1]
        assert len(s.line.pushes) == 1 and len(s.line.pushes[0]["messages"]) == 2


# ---------------------------------------------------------------- item 4: order


async def test_a_later_message_waits_for_an_earlier_one_being_retried(tmp_path: Path) -> None:
    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock) as s:
        s.line.fail("reply", 500)
        await say(s, 1, "我買的耳機右耳沒有聲音")
        await s.server.delivery.send_due()          # the ack and restatement wait 2 s
        await say(s, 2, "對")                        # the offer is due at once …
        await s.server.delivery.send_due()
        assert received(s.line) == []               # … but waits behind them
        await say(s, 3, "其他客人", user=OTHER)       # someone else is not held up
        await s.server.delivery.send_due()
        assert len(received(s.line, OTHER)) >= 1
        await later(s, clock, 2)
        rows = [r for r in await outbox(s) if r["user_id"] == USER]
        assert received(s.line) == [r["text"] for r in rows]   # all three, in order


def test_the_age_limit_is_set_in_hours_and_checked() -> None:
    settings = Settings.load({"HEARD_DELIVERY_MAX_AGE": "1.5", "LINE_REPLY_TOKEN_SECONDS": "40"})
    assert settings.delivery_max_age == 5400 and settings.line_token_seconds == 40
    assert Settings.load({}).delivery_max_age == 6 * 3600
    for bad in ("0", "-1", "soon", "nan"):
        with pytest.raises(SettingsError, match="HEARD_DELIVERY_MAX_AGE"):
            Settings.load({"HEARD_DELIVERY_MAX_AGE": bad})


async def test_an_agent_reply_that_never_arrives_is_posted_in_the_case_thread(
        tmp_path: Path) -> None:
    from tests.test_discord_desk import with_desk

    clock = Clock()
    async with serving(tmp_path / "h.db", clock=clock, delivery_max_age=3600.0) as s:
        desk, gateway = await with_desk(s)
        await say(s, 1, "我買的吹風機壞了，我要去PTT爆料")
        await s.server.delivery.send_due()
        await desk.idle()
        (thread, posts), = gateway.threads.items()
        s.line.outage(503)
        await desk.on_message(thread, "amy", False, "!claim")
        await desk.on_message(thread, "amy", False, "您好，我是 Amy，今天會幫您換新的。")
        await until_quiet(s, clock, hours=2)
        await desk.idle()
        assert "@here" in posts[-1] and "未能送達" in posts[-1] and "1.0 h" in posts[-1]
        await desk.stop()


# ---------------------------------------------------------------- replies right after the turn


async def test_replies_leave_right_after_their_turn_without_a_look_at_the_outbox(
        tmp_path: Path) -> None:
    """Delivery starts when the turn commits: with no look at the whole outbox at all (its
    loop is not running), both customers' replies arrive, in order, the second turn's ones
    too (written while the first was being sent)."""
    async with serving(tmp_path / "h.db") as s:
        s.server.background = True          # turns hand their replies to delivery
        for n, (user, text) in enumerate([(USER, "包裹還沒到"), (OTHER, "耳機左耳沒聲音"),
                                          (USER, "訂單編號 A12345678")]):
            await s.post_line(line_body(line_event("text", user, f"01NOW{n:019d}", text=text)))
        await s.server.dispatcher.drain()
        expected = await s.read(lambda st: [(r["user_id"], r["text"]) for r in st.db.query(
            "SELECT user_id, text FROM outbox ORDER BY id")])
        await s.line.wait_for(lambda: len(s.line.received) >= len(expected), timeout=5)
        for user in (USER, OTHER):
            assert received(s.line, user) == [text for who, text in expected if who == user]
        assert len(expected) >= 5
