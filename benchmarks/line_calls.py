"""LINE adapter CPU per call, in one process: `LineChannel.send` of a typical batch (the
acknowledgement and the restatement with two quick-reply buttons, as the outbox produces
them) against the LINE stub on 127.0.0.1, and `LineChannel.events` on a signed webhook
body with one text event.

    python benchmarks/line_calls.py [--calls 2000] [--rounds 7]

The stub runs in this process, so a send's figure includes the stub answering it; "bare
post" posts the same JSON with a plain aiohttp session (the stub plus the least a client
can do), so the difference is what the adapter adds. CPU time (time.process_time) is
little affected by other work on the machine; medians of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import OutboxMessage
from adapters.line import LineChannel, render_json
from bot.types import Button
from tests.channels import line_body, line_event, sign
from tests.stubs import LINE_SECRET, LINE_TOKEN, LineStub

USER = "U206d25c2ea6bd87c17655609a1c37cb8"
ACK = "收到，謝謝您告訴我們。我先確認一下狀況。"
RESTATED = "您是說：3 月 2 日訂的耳機，右耳沒有聲音，想要換一副，對嗎？"


def batch(token: str, now: float) -> list[OutboxMessage]:
    common = {"conversation_key": f"line:{USER}", "channel": "line", "user_id": USER,
              "kind": "reply", "reply_token": token, "created_ts": now, "token_ts": now,
              "attempts": 0}
    return [OutboxMessage(id=1, text=ACK, buttons=(), retry_key="k1", **common),
            OutboxMessage(id=2, text=RESTATED, retry_key="k2", **common,
                          buttons=(Button("對，沒錯", "restate:yes"),
                                   Button("不太對", "restate:no")))]


async def nothing(_: str) -> None:
    return None


async def cpu_per_call(calls: int, rounds: int,
                       *runs: Callable[[int], Awaitable[None]]) -> list[float]:
    """For each of `runs`, the median over `rounds` of CPU µs per call of `run(i)`; the
    runs take turns round by round, so a change in the machine's pace touches them alike."""
    for run in runs:
        for i in range(50):                   # warm up: connections, imports, caches
            await run(-i - 1)
    figures: list[list[float]] = [[] for _ in runs]
    for r in range(rounds):
        for run, found in zip(runs, figures, strict=True):
            started = time.process_time()
            for i in range(calls):
                await run(r * calls + i)
            found.append((time.process_time() - started) / calls * 1e6)
    return [statistics.median(found) for found in figures]


async def sending(calls: int, rounds: int) -> tuple[float, float]:
    stub = LineStub()
    await stub.start()
    channel = LineChannel(LINE_SECRET, LINE_TOKEN, host=stub.url, data_host=stub.url)
    await channel.start()
    now = datetime.now(UTC)

    def issued(i: int, phase: str) -> str:
        token = f"{phase}-{i}"
        stub.issued[token] = (USER, stub.now())
        return token

    async def send(i: int) -> None:
        await channel.send(batch(issued(i, "send"), now.timestamp()), now, nothing)

    headers = {"Authorization": f"Bearer {LINE_TOKEN}", "Content-Type": "application/json"}
    session = aiohttp.ClientSession(trust_env=False)

    async def bare(i: int) -> None:
        body = {"replyToken": issued(i, "bare"), "messages": render_json(batch("", 0)),
                "notificationDisabled": False}
        async with session.post(f"{stub.url}/v2/bot/message/reply",
                                data=json.dumps(body).encode(), headers=headers) as r:
            await r.read()
            assert r.status == 200, r.status

    try:
        sent, plain = await cpu_per_call(calls, rounds, send, bare)
        assert len(stub.replies) == 2 * (calls * rounds + 50) and not stub.pushes, "not all replied"
    finally:
        await session.close()
        await channel.close()
        await stub.stop()
    return sent, plain


def reading(calls: int, rounds: int) -> tuple[float, float]:
    channel = LineChannel(LINE_SECRET, LINE_TOKEN)
    body = line_body(line_event("text", USER, "01HX0000000000000000000001",
                                text="我買的耳機右耳沒有聲音，已經第二次了"))
    signature = sign(body)
    now = datetime.now(UTC)
    figures: dict[str, list[float]] = {"events": [], "verify": []}
    for _ in range(rounds + 1):               # the first round warms up
        started = time.process_time()
        for _ in range(calls):
            incomings, refused = channel.events(body, now)
        figures["events"].append((time.process_time() - started) / calls * 1e6)
        assert len(incomings) == 1 and not refused
        started = time.process_time()
        for _ in range(calls):
            channel.verify(body, signature)
        figures["verify"].append((time.process_time() - started) / calls * 1e6)
    return (statistics.median(figures["events"][1:]), statistics.median(figures["verify"][1:]))


def main(calls: int, rounds: int) -> None:
    sent, plain = asyncio.run(sending(calls, rounds))
    print(f"send (2 messages)    {sent:7.1f} µs CPU per call, LINE stub included")
    print(f"bare post            {plain:7.1f} µs CPU per call (stub + plain aiohttp post)")
    print(f"adapter's share      {sent - plain:7.1f} µs CPU per send")
    events, verify = reading(calls * 5, rounds)
    print(f"events (1 text)      {events:7.1f} µs CPU per call")
    print(f"verify (signature)   {verify:7.1f} µs CPU per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    main(args.calls, args.rounds)
