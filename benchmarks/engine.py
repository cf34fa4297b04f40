"""Engine + store throughput: many simultaneous synthetic conversations on one core.

Every turn is a real `handle_incoming` on the writer thread (understanding, engine step,
case + messages + events + outbox written) and is awaited until its transaction is
durably committed (WAL, synchronous=FULL; the writer groups concurrent turns into one
commit). Prints customer turns per second and p50/p99 latency per turn.

    python benchmarks/engine.py [--conversations 200] [--rounds 5] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.turns import handle_incoming
from bot.types import Incoming
from bot.understanding import ready
from dialogs.loader import default_dialog_path, load_dialog
from storage.writer import Writer

PRODUCTS = ["加濕器", "咖啡機", "吹風機", "耳機", "電風扇", "吸塵器", "烤箱", "檯燈", "kettle", "blender"]
OPENINGS = [
    "我買的{p}用兩天就壞了，訂單編號 A{n}",
    "訂單 A{n} 的{p}到貨就是壞的，客服都不回",
    "包裹等了一個禮拜還沒到，裡面是{p}，訂單 A{n}",
    "我的信用卡被重複扣款兩次，買的是{p}，每次{n4}元",
    "The {p} I bought stopped working after {d} days, order #A{n}",
    "门市店员态度很差，我只是问{p}的问题",
]
FOLLOW_UPS = ["對", "1", "進度如何？", "好的謝謝", "還要多久？"]


def script(rng: random.Random) -> list[tuple[str, str | None]]:
    """One customer's turns: a complaint, confirm, pick a remedy, then small talk."""
    p = rng.choice(PRODUCTS)
    opening = rng.choice(OPENINGS).format(
        p=p, n=rng.randrange(10**7, 10**8), n4=rng.randrange(100, 9999), d=rng.randrange(2, 9))
    turns: list[tuple[str, str | None]] = [(opening, None), ("", "yes"), ("第一個", None)]
    turns += [(rng.choice(FOLLOW_UPS), None) for _ in range(2)]
    return turns


async def conversation(writer: Writer, dialog, user: str, rng: random.Random,
                       latencies: list[float], rounds: int) -> None:  # type: ignore[no-untyped-def]
    serial = 0
    for _ in range(rounds):
        for text, payload in script(rng):
            serial += 1
            now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC) + timedelta(seconds=serial)
            incoming = Incoming(channel="bench", user_id=user, event_id=f"{user}-{serial}",
                                received_at=now, text=text, payload=payload)
            started = time.perf_counter()
            await writer.run(lambda store, i=incoming, n=now: handle_incoming(store, dialog, i, n))
            latencies.append(time.perf_counter() - started)


async def main(conversations: int, rounds: int, db: Path) -> None:
    dialog = load_dialog(default_dialog_path())
    ready(dialog)              # as `heard serve` does before it listens: model read or trained
    writer = Writer(db)
    await writer.start()
    latencies: list[float] = []
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(
        conversation(writer, dialog, f"u{i}", random.Random(i), latencies, rounds)
        for i in range(conversations)
    ))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    commits = writer.commits
    await writer.stop()
    latencies.sort()
    turns = len(latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(turns - 1, int(turns * 0.99))] * 1000
    print(f"conversations        {conversations} simultaneous, {rounds} rounds each")
    print(f"customer turns       {turns} in {elapsed:.2f} s")
    print(f"turns per second     {turns / elapsed:,.0f}")
    print(f"CPU per turn         {cpu / turns * 1000:.2f} ms (this process; steadier than "
          "wall time on a busy machine)")
    print(f"latency per turn     p50 {p50:.1f} ms   p99 {p99:.1f} ms")
    print(f"durable commits      {commits} (avg {turns / max(commits, 1):.1f} turns per commit)")
    print(f"cores                {len(os.sched_getaffinity(0))} (pinned)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.conversations, args.rounds, args.db or Path(tmp) / "bench.db"))
