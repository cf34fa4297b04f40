"""Webhooks over loopback against `heard serve` with a stub platform (LINE or Telegram),
end to end.

Posts one event per request at a fixed concurrency: signed LINE webhooks, or Telegram
updates with the secret token header. Each event is a new customer's first message, so
every one runs a full turn (inbox, engine, case, messages, outbox) and gets a reply
(acknowledgement + restatement) that must reach the stub. A reply counts as arrived when
the customer has all of it: LINE's one reply call, or the last `sendMessage` to that
Telegram chat. Prints customer messages per second, the server's CPU per message (its
whole process tree), p50/p99 time to the 200, p50/p99 time from the webhook to the reply,
and the same load against a bare aiohttp handler that only answers 200, with the ratio.
`--peer` (Telegram) also runs a plain python-telegram-bot echo bot on the same stub with
the same load, and prints Heard's rate as a multiple of the echo bot's.

    python benchmarks/webhook.py [--channel line|telegram] [--events 3000]
        [--concurrency 50] [--workers N] [--peer] [--db postgresql://…]

With `--db postgresql://user@host/db`, the records are on that PostgreSQL server: the run
gets a fresh database of its own there (created, and dropped after; the user needs
CREATEDB), as the SQLite run gets a fresh file. The server CPU printed is Heard's; the
PostgreSQL server's own is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels import line_body, line_event, sign, telegram_text  # noqa: E402
from tests.stubs import (  # noqa: E402
    LINE_SECRET,
    LINE_TOKEN,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    LineStub,
    TelegramStub,
)

TEXT = "我買的加濕器用兩天就不出霧了，訂單編號 A12345678"
QUIET = 0.5   # Telegram: a chat's reply is complete when nothing more came for this long

BARE = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="OK")
app = web.Application()
app.add_routes([web.post("/webhooks/line", ok), web.post("/webhooks/telegram", ok),
                web.get("/healthz", ok)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

# A plain python-telegram-bot echo bot, fed by our own web server: PTB's "customwebhookbot"
# example (Update.de_json, then application.update_queue), with aiohttp as the server.
ECHO = """
import asyncio, sys
from aiohttp import web
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

port, base_url, token, secret = sys.argv[1:5]

async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)

async def main() -> None:
    application = Application.builder().token(token).base_url(base_url).updater(None).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    async def telegram(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=401)
        update = Update.de_json(data=await request.json(), bot=application.bot)
        await application.update_queue.put(update)
        return web.Response(text="OK")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="OK")

    app = web.Application()
    app.add_routes([web.post("/webhooks/telegram", telegram), web.get("/healthz", health)])
    runner = web.AppRunner(app, access_log=None)
    async with application:
        await application.start()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(port)).start()
        await asyncio.Event().wait()

asyncio.run(main())
"""


class TimedLineStub(LineStub):
    """Notes when each customer's reply arrives (one call carries all of it)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def reply(self, request):  # type: ignore[no-untyped-def]
        response = await super().reply(request)
        body = self.calls[-1][1]
        user = self.issued.get(body["replyToken"], ("?", 0.0))[0]
        self.arrived.setdefault(user, time.perf_counter())
        return response

    async def push(self, request):  # type: ignore[no-untyped-def]
        response = await super().push(request)
        self.arrived.setdefault(self.calls[-1][1]["to"], time.perf_counter())
        return response

    def delivered(self) -> int:
        return sum(len(c[1]["messages"]) for c in self.calls if c[0] in ("reply", "push"))


class TimedTelegramStub(TelegramStub):
    """Notes when the last `sendMessage` to each chat arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}
        self.last_call = 0.0

    def _result(self, name, data):  # type: ignore[no-untyped-def]
        result = super()._result(name, data)
        if name == "sendMessage":
            self.last_call = self.arrived[str(data["chat_id"])] = time.perf_counter()
        return result

    def delivered(self) -> int:
        return len(self.sent)


@dataclass
class Load:
    """What to post, where, and how to tell whose reply is whose."""

    path: str
    bodies: list[bytes]
    keys: list[str]                       # event i's customer, as the stub knows them
    headers: Callable[[bytes], dict[str, str]]
    before_post: Callable[[bytes], None] = lambda body: None


def texts(events: int, varied: bool) -> list[str]:
    """The first message of each customer: the same complaint every time, or (`--varied`)
    the labelled customer messages of tests/data/understanding/dev.tsv in turn, so that no
    reading is remembered from an earlier customer."""
    if not varied:
        return [TEXT] * events
    lines = (ROOT / "tests/data/understanding/dev.tsv").read_text(encoding="utf-8").splitlines()
    said = [line.split("\t")[0] for line in lines[1:] if line.strip()]   # after the header
    return [said[i % len(said)] for i in range(events)]


def line_load(events: int, stub: LineStub, varied: bool = False) -> Load:
    users = [f"Ubench{i:06d}" for i in range(events)]
    bodies = [line_body(line_event("text", user, f"01BENCH{i:019d}", text=text, token=f"tok-{i}"))
              for i, (user, text) in enumerate(zip(users, texts(events, varied), strict=True))]
    return Load("/webhooks/line", bodies, users,
                lambda body: {"X-Line-Signature": sign(body)},
                stub.issue_tokens)   # LINE issues a reply token with each event


def telegram_load(events: int, varied: bool = False) -> Load:
    chats = [700_000_000 + i for i in range(events)]
    bodies = [json.dumps(telegram_text(i + 1, chat, text), ensure_ascii=False).encode()
              for i, (chat, text) in enumerate(zip(chats, texts(events, varied), strict=True))]
    headers = {"Content-Type": "application/json",
               "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return Load("/webhooks/telegram", bodies, [str(c) for c in chats], lambda body: headers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(url: str, process: asyncio.subprocess.Process | None = None) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process is not None and process.returncode is not None:
                raise RuntimeError(f"{url}: the server exited ({process.returncode})")
            try:
                async with http.get(url) as r:
                    # with workers, also until the turn worker has its model loaded
                    body = await r.json() if r.content_type == "application/json" else {}
                    if r.status == 200 and body.get("turn_worker") != "starting":
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def post_all(url: str, load: Load, concurrency: int,
                   ) -> tuple[list[float], list[float], float]:
    """Returns (ack latencies, send times, elapsed)."""
    acks: list[float] = [0.0] * len(load.bodies)
    sent: list[float] = [0.0] * len(load.bodies)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(load.bodies)):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = load.bodies[i]
                sent[i] = time.perf_counter()
                load.before_post(body)
                async with http.post(url + load.path, data=body, headers=load.headers(body)) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"webhook answered {r.status}")
                acks[i] = time.perf_counter() - sent[i]
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return acks, sent, elapsed


def tree_cpu(root: int) -> float:
    """User + system CPU of a process and all its descendants so far, all threads (Linux
    /proc: a process's stat sums its threads; reaped children are in its cutime/cstime)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(f) for f in fields[11:15])   # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def named_cpu(name: str) -> float:
    """User + system CPU so far of every process called `name` (a local PostgreSQL's
    server processes: they are not Heard's children, and share the machine's cores)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.split("(", 1)[1].rsplit(")", 1)[0] == name:
            total += sum(int(f) for f in stat.rsplit(")", 1)[1].split()[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


@dataclass
class Run:
    acks: list[float]
    done: list[float]           # webhook -> whole reply, for each answered event
    rate: float                 # customer messages/s: answered / (last reply - first post)
    delivered: int              # bot messages that reached the stub
    total: float
    cpu: float                  # whole run, start-up included
    cpu_serving: float          # from ready to the last reply
    db_cpu: float = 0.0         # local PostgreSQL's server processes, from ready to the end
    load_cpu: float = 0.0       # this process (load generator and platform stub), serving


async def run_server(command: list[str], env: dict[str, str], port: int, load: Load,
                     stub: TimedLineStub | TimedTelegramStub, concurrency: int) -> Run:
    with tempfile.TemporaryFile() as errors:
        server = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=errors)
        try:
            try:
                await wait_up(f"http://127.0.0.1:{port}/healthz", server)
            except RuntimeError:
                errors.seek(0)
                sys.stderr.write(errors.read().decode(errors="replace")[-3000:])
                raise
            ready_cpu, ready_db = tree_cpu(server.pid), named_cpu("postgres")
            ready_load = time.process_time()
            acks, sent, _ = await post_all(f"http://127.0.0.1:{port}", load, concurrency)
            await replies_in(stub, load.keys)
            load_cpu = time.process_time() - ready_load
            cpu, db_cpu = tree_cpu(server.pid), named_cpu("postgres") - ready_db
        finally:
            if server.returncode is None:
                server.terminate()
            await server.wait()
    ends = [stub.arrived.get(key) for key in load.keys]
    done = [end - start for end, start in zip(ends, sent, strict=True) if end]
    total = max((e for e in ends if e), default=min(sent) + 1) - min(sent)
    return Run(acks, done, len(done) / total, stub.delivered(), total, cpu, cpu - ready_cpu,
               db_cpu, load_cpu)


async def replies_in(stub: TimedLineStub | TimedTelegramStub, keys: list[str]) -> None:
    """Every customer answered (Telegram: and nothing more for a moment), or 120 s."""
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        if len(stub.arrived) >= len(keys):
            last = getattr(stub, "last_call", None)
            if last is None or time.perf_counter() - last > QUIET:
                return
        await asyncio.sleep(0.05)


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"p50 {statistics.median(values) * 1000:.1f} ms   p99 {pct(values, 0.99):.1f} ms"


@contextlib.contextmanager
def records(db: str | None, tmp: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh database on the PostgreSQL server of `db`."""
    if not db:
        yield str(Path(tmp) / "bench.db")
        return
    import psycopg

    name = f"heard_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield db.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def main(channel: str, events: int, concurrency: int, workers: int | None,
               peer: bool, varied: bool = False, db: str | None = None) -> None:
    stub: TimedLineStub | TimedTelegramStub
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, records(db, tmp) as target:
        env = {**os.environ, "HEARD_DB": target, "HEARD_PORT": str(port),
               "HEARD_LOG_LEVEL": "WARNING", "LINE_CHANNEL_SECRET": "", "TELEGRAM_BOT_TOKEN": ""}
        if channel == "line":
            stub = TimedLineStub()
            await stub.start()
            load = line_load(events, stub, varied)
            env.update(LINE_CHANNEL_SECRET=LINE_SECRET, LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
                       LINE_API_HOST=stub.url)
        else:
            stub = TimedTelegramStub()
            await stub.start()
            load = telegram_load(events, varied)
            env.update(TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
                       TELEGRAM_API_URL=stub.base_url)
        wrapper = os.environ.get("HEARD_BENCH_WRAPPER")   # e.g. a profiler command
        command = [*([wrapper] if wrapper else []), sys.executable, "-m", "bot.cli", "serve",
                   *(["--workers", str(workers)] if workers is not None else [])]
        heard = await run_server(command, env, port, load, stub, concurrency)
        await stub.stop()

    echo = None
    if peer and channel == "telegram":
        peer_stub = TimedTelegramStub()
        await peer_stub.start()
        peer_port = free_port()
        echo = await run_server(
            [sys.executable, "-c", ECHO, str(peer_port), peer_stub.base_url, TELEGRAM_TOKEN,
             TELEGRAM_SECRET], dict(os.environ), peer_port, load, peer_stub, concurrency)
        await peer_stub.stop()

    bare_port = free_port()
    bare = await asyncio.create_subprocess_exec(sys.executable, "-c", BARE, str(bare_port))
    try:
        await wait_up(f"http://127.0.0.1:{bare_port}/healthz", bare)
        bare_acks, _, bare_elapsed = await post_all(f"http://127.0.0.1:{bare_port}", load,
                                                    concurrency)
    finally:
        bare.terminate()
        await bare.wait()

    platform = "LINE" if channel == "line" else "Telegram"
    what = "signed LINE webhooks" if channel == "line" else "Telegram updates (secret token)"
    bare_rate = events / bare_elapsed
    answered = len(heard.done)
    print(f"events               {events} {what}, concurrency {concurrency}"
          + (f", {workers} workers" if workers is not None else "")
          + (", records on PostgreSQL" if db else ", records on SQLite")
          + (", a different complaint each" if varied else ", the same complaint each"))
    print(f"replies at the stub  {answered} of {events} events answered")
    print(f"end to end           {heard.rate:,.0f} customer messages/s (webhook in -> its reply at the "
          f"{platform} stub); {heard.delivered / heard.total:,.0f} bot messages/s delivered")
    print(f"time to 200          {spread(heard.acks)}")
    print(f"webhook -> reply     {spread(heard.done)}")
    print(f"bare aiohttp 200     {bare_rate:,.0f} requests/s, p50 "
          f"{statistics.median(bare_acks) * 1000:.1f} ms   p99 {pct(bare_acks, 0.99):.1f} ms")
    print(f"heard / bare         {heard.rate / bare_rate:.2f} of the bare handler's rate")
    if echo is not None:
        print(f"echo bot (PTB)       {echo.rate:,.0f} replies/s; time to 200 {spread(echo.acks)}; "
              f"webhook -> reply {spread(echo.done)}; CPU "
              f"{echo.cpu_serving / max(len(echo.done), 1) * 1000:.2f} ms per message")
        print(f"heard / echo bot     {heard.rate / echo.rate:.2f}x the echo bot's replies/s")
    print(f"server CPU           {heard.cpu:.2f} s ({heard.cpu / max(answered, 1) * 1000:.2f} ms "
          f"per message, start-up included; "
          f"{heard.cpu_serving / max(answered, 1) * 1000:.2f} ms serving only)")
    print(f"load + stub CPU      {heard.load_cpu / max(answered, 1) * 1000:.2f} ms per message "
          "(this benchmark's own process, on the same cores)")
    if db:
        print(f"PostgreSQL CPU       {heard.db_cpu / max(answered, 1) * 1000:.2f} ms per message "
              "(a server on this machine; serving only)")
    print(f"cores                {os.cpu_count()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", choices=("line", "telegram"), default="line")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None,
                        help="passed on as `heard serve --workers N` (only when given)")
    parser.add_argument("--varied", action="store_true",
                        help="a different real complaint per customer (tests/data/understanding/"
                             "dev.tsv) instead of the same one")
    parser.add_argument("--db", help="a postgresql:// URL: the records on that server (a fresh "
                        "database per run); default: a fresh SQLite file")
    parser.add_argument("--peer", action="store_true",
                        help="Telegram: also run a python-telegram-bot echo bot on the same load")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.channel, args.events, args.concurrency, args.workers, args.peer,
                         args.varied, args.db))
    except RuntimeError as exc:   # the server did not come up (its stderr is printed above)
        sys.exit(f"error: {exc}")
