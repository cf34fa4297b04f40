"""Signed LINE webhooks over loopback against `heard serve` with a LINE stub, end to end.

Posts one event per request at a fixed concurrency. Each event is a new customer's first
message, so every one runs a full turn (inbox, engine, case, messages, outbox) and gets a
reply (acknowledgement + restatement) that must reach the stub. Prints messages per second,
p50/p99 time to the 200, p50/p99 time from the webhook to the reply reaching the stub, and
the same load against a bare aiohttp handler that only answers 200, with the ratio.

    python benchmarks/webhook.py [--events 3000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels import line_body, line_event, sign  # noqa: E402
from tests.stubs import LINE_SECRET, LINE_TOKEN, LineStub  # noqa: E402

BARE = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="OK")
app = web.Application()
app.add_routes([web.post("/webhooks/line", ok), web.get("/healthz", ok)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


class TimedStub(LineStub):
    """Notes when each reply token's reply arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def reply(self, request):  # type: ignore[no-untyped-def]
        response = await super().reply(request)
        body = self.calls[-1][1]
        self.arrived.setdefault(body["replyToken"], time.perf_counter())
        return response

    async def push(self, request):  # type: ignore[no-untyped-def]
        response = await super().push(request)
        body = self.calls[-1][1]
        self.arrived.setdefault("push:" + body["to"], time.perf_counter())
        return response


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(400):
            try:
                async with http.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, bodies: list[bytes], concurrency: int,
               stub: LineStub | None = None) -> tuple[list[float], list[float], float]:
    """Returns (ack latencies, send times, elapsed)."""
    acks: list[float] = [0.0] * len(bodies)
    sent: list[float] = [0.0] * len(bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = bodies[i]
                sent[i] = time.perf_counter()
                if stub is not None:
                    stub.issue_tokens(body)   # LINE issues a reply token with each event
                async with http.post(url, data=body, headers={"X-Line-Signature": sign(body)}) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"webhook answered {r.status}")
                acks[i] = time.perf_counter() - sent[i]
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return acks, sent, elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU the server used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def main(events: int, concurrency: int) -> None:
    stub = TimedStub()
    await stub.start()
    bodies = [line_body(line_event("text", f"Ubench{i:06d}", f"01BENCH{i:019d}",
                                   text="我買的加濕器用兩天就不出霧了，訂單編號 A12345678",
                                   token=f"tok-{i}")) for i in range(events)]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "HEARD_DB": str(Path(tmp) / "bench.db"), "HEARD_PORT": str(port),
               "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
               "LINE_API_HOST": stub.url, "TELEGRAM_BOT_TOKEN": "", "HEARD_LOG_LEVEL": "WARNING"}
        wrapper = os.environ.get("HEARD_BENCH_WRAPPER")   # e.g. a profiler command
        server = await asyncio.create_subprocess_exec(
            *([wrapper] if wrapper else []), sys.executable, "-m", "bot.cli", "serve",
            cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            await wait_up(f"http://127.0.0.1:{port}/healthz")
            acks, sent, _ = await load(f"http://127.0.0.1:{port}/webhooks/line", bodies,
                                       concurrency, stub)
            deadline = time.perf_counter() + 120
            while len(stub.arrived) < events and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            cpu = cpu_seconds(server.pid)
        finally:
            server.terminate()
            await server.wait()
        ends = [stub.arrived.get(f"tok-{i}") or stub.arrived.get(f"push:Ubench{i:06d}")
                for i in range(events)]
        done = [(end - start) for end, start in zip(ends, sent, strict=True) if end]
        total = max(e for e in ends if e) - min(sent)

        bare_port = free_port()
        bare = await asyncio.create_subprocess_exec(sys.executable, "-c", BARE, str(bare_port))
        try:
            await wait_up(f"http://127.0.0.1:{bare_port}/healthz")
            bare_acks, _, bare_elapsed = await load(
                f"http://127.0.0.1:{bare_port}/webhooks/line", bodies, concurrency)
        finally:
            bare.terminate()
            await bare.wait()
    await stub.stop()

    rate = len(done) / total
    bare_rate = events / bare_elapsed
    print(f"events               {events} signed LINE webhooks, concurrency {concurrency}")
    print(f"replies at the stub  {len(done)} of {events} events answered")
    delivered = sum(len(c[1]["messages"]) for c in stub.calls if c[0] in ("reply", "push"))
    print(f"end to end           {rate:,.0f} customer messages/s (webhook in -> its reply at the "
          f"LINE stub); {delivered / total:,.0f} bot messages/s delivered")
    print(f"time to 200          p50 {statistics.median(acks) * 1000:.1f} ms   p99 {pct(acks, 0.99):.1f} ms")
    print(f"webhook -> reply     p50 {statistics.median(done) * 1000:.1f} ms   p99 {pct(done, 0.99):.1f} ms")
    print(f"bare aiohttp 200     {bare_rate:,.0f} requests/s, p50 "
          f"{statistics.median(bare_acks) * 1000:.1f} ms   p99 {pct(bare_acks, 0.99):.1f} ms")
    print(f"heard / bare         {rate / bare_rate:.2f} of the bare handler's rate")
    print(f"server CPU           {cpu:.2f} s ({cpu / max(len(done), 1) * 1000:.2f} ms per message, "
          f"start-up included)")
    print(f"cores                {os.cpu_count()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.concurrency))
