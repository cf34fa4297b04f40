"""Fuzzing a real `heard serve` (issue 13, acceptance): hypothesis-made requests to the web
chat, LINE (signed) and Telegram (secret token) endpoints. Whatever arrives: no 500, no
accepted event lost (each is in the store, and processed), no request slower than 1 s.

The server is a separate process with delivery and timers running, talking to the LINE
and Telegram stubs (on their own event loop in a thread here). Inputs mix random Unicode
(lone surrogates included), the hostile shapes of issue 13, broken JSON, events with
missing or mistyped fields, and signatures or tokens that are wrong. Examples are
derandomized, so every run tries the same inputs (and CI cannot flake on a new one).
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import itertools
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels import line_event, sign, telegram_press, telegram_text
from tests.processes import heard_serve
from tests.stubs import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN, LineStub, TelegramStub

SLOWEST = 1.0          # seconds: LINE counts slower answers as timeouts
EXAMPLES = 120         # per endpoint
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
LONE_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF,
                                exclude_categories=())
SHAPES = ["1", "1,", "1.", "一", " ", "\t", "0912", "+1 ", "a.", "a@", "@", "#a1", "order ",
          "訂單 ", "我的電話0912345678", "\ud800", "😀", "=", "！", "\u200b", "\x00"]
TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.one_of(st.characters(), LONE_SURROGATES), max_size=60),
    st.builds(lambda shape, n: (shape * n)[:5000], st.sampled_from(SHAPES),
              st.integers(1, 5000)),
    st.sampled_from(["我的耳機壞了，訂單 A12345678", "包裹還沒到，已經三天了", "我要找真人客服",
                     "你們是詐騙！！！我要告到消保官", "yes", "/start", ""]),
)
SMALL_TEXT = st.text(alphabet=st.one_of(st.characters(), LONE_SURROGATES), max_size=40)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | SMALL_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SMALL_TEXT, inner, max_size=3),
    max_leaves=6)
IDS = itertools.count(1)


def ascii_json(data: Any) -> bytes:
    """As the platforms send it: non-ASCII (and lone surrogates) as \\u escapes."""
    return json.dumps(data, ensure_ascii=True).encode()


class Stubs:
    """The LINE and Telegram stubs on their own loop, beside the synchronous fuzzer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.line, self.telegram = LineStub(), TelegramStub()
        for stub in (self.line, self.telegram):
            asyncio.run_coroutine_threadsafe(stub.start(), self.loop).result(10)

    def stop(self) -> None:
        for stub in (self.line, self.telegram):
            asyncio.run_coroutine_threadsafe(stub.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@dataclass
class Server:
    url: str
    db: Path
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    slowest: dict[str, float] = field(default_factory=dict)

    def post(self, endpoint: str, path: str, body: bytes, headers: dict[str, str]) -> int:
        where = urlsplit(self.url)
        connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        took = time.perf_counter() - started
        self.statuses[(endpoint, response.status)] += 1
        self.slowest[endpoint] = max(self.slowest.get(endpoint, 0.0), took)
        assert response.status < 500, f"{endpoint}: {response.status} for {body[:300]!r}"
        assert took < SLOWEST, f"{endpoint}: {took:.2f} s for {body[:300]!r}"
        return response.status

    def inbox(self) -> dict[str, str]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as db:
            return dict(db.execute("SELECT event_key, status FROM inbox"))

    def check_kept(self, keys: list[str], endpoint: str, match: Callable[[str, str], bool]
                   = lambda key, stored: key == stored) -> None:
        """Every accepted event is in the store and gets processed (not `failed`)."""
        deadline = time.monotonic() + 60
        while True:
            stored = self.inbox()
            found = {key: next((v for k, v in stored.items() if match(key, k)), None)
                     for key in keys}
            missing = [k for k, v in found.items() if v is None]
            failed = [k for k, v in found.items() if v == "failed"]
            pending = [k for k, v in found.items() if v == "pending"]
            if missing or failed or not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        answers = {status: n for (where, status), n in sorted(self.statuses.items())
                   if where == endpoint}
        print(f"\n{endpoint}: answers {answers}; slowest "
              f"{self.slowest.get(endpoint, 0) * 1000:.0f} ms; {len(keys)} accepted events, "
              f"{len(keys) - len(missing)} in the store")
        assert not missing, f"accepted but not in the store: {missing[:5]}"
        assert not failed, f"accepted but failed to process: {failed[:5]}"
        assert not pending, f"accepted but never processed: {pending[:5]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    stubs = Stubs()
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    env = {"HEARD_DB": str(db), "HEARD_LOG_LEVEL": "ERROR",
           "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
           "LINE_API_HOST": stubs.line.url, "LINE_DATA_HOST": stubs.line.url,
           "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
           "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET, "TELEGRAM_API_URL": stubs.telegram.base_url}
    try:
        with heard_serve(env) as url:
            yield Server(url, db)
    finally:
        stubs.stop()


# ---------------------------------------------------------------- the web chat


@st.composite
def web_requests(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A chat message as the page sends it (with fuzzed fields), or anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(st.binary(max_size=300), JSON_VALUE.map(ascii_json))), None
    message_id = f"fuzz{next(IDS)}"
    body: dict[str, Any] = {"id": message_id, "text": draw(TEXT)}
    extra = draw(st.dictionaries(st.sampled_from(["payload", "language", "after", "visitor"]),
                                 st.one_of(JSON_VALUE, SMALL_TEXT), max_size=3))
    body.update(extra)
    return ascii_json(body), message_id


def test_fuzzing_the_web_chat(server: Server) -> None:
    accepted: list[str] = []

    @FUZZ
    @given(request=web_requests())
    def send(request: tuple[bytes, str | None]) -> None:
        body, message_id = request
        status = server.post("web", "/chat/api/messages", body,
                             {"Content-Type": "application/json"})
        if status == 200 and message_id is not None:
            accepted.append(message_id)

    send()
    server.check_kept(accepted, "web", lambda key, stored: stored.endswith(f":{key}"))


# ---------------------------------------------------------------- LINE


def _line_good(user: str) -> st.SearchStrategy[dict[str, Any]]:
    def make(kind: str, text: str) -> dict[str, Any]:
        event_id = f"01FUZZ{next(IDS):020d}"
        if kind == "text":
            return line_event("text", user, event_id, text=text)
        if kind == "postback":
            return line_event("postback", user, event_id, data=text[:300])
        return line_event(kind, user, event_id)
    return st.builds(make, st.sampled_from(["text", "text", "postback", "follow", "unfollow",
                                            "sticker", "image"]), TEXT)


@st.composite
def line_batches(draw: st.DrawFn) -> tuple[bytes, bool, list[str]]:
    """(body, signed, ids of the events that must be kept when it is answered 200)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200)), draw(st.booleans()), []
    user = draw(st.sampled_from([f"Ufuzz{n:027d}" for n in range(5)]))
    events: list[Any] = []
    keep: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        event = draw(_line_good(user))
        if draw(st.integers(0, 3)) == 0:                    # break it somehow
            broken = copy.deepcopy(event)
            key = draw(st.sampled_from(sorted(broken)))
            if draw(st.booleans()):
                del broken[key]
            else:
                broken[key] = draw(JSON_VALUE)
            events.append(broken if draw(st.integers(0, 5)) else draw(JSON_VALUE))
        else:
            events.append(event)
            keep.append(event["webhookEventId"])
    signed = draw(st.integers(0, 9)) > 0
    return ascii_json({"destination": "Ubot", "events": events}), signed, keep if signed else []


def test_fuzzing_the_line_webhook(server: Server) -> None:
    accepted: list[str] = []

    @FUZZ
    @given(batch=line_batches())
    def send(batch: tuple[bytes, bool, list[str]]) -> None:
        body, signed, keep = batch
        headers = {"Content-Type": "application/json",
                   "X-Line-Signature": sign(body) if signed else sign(body, "wrong secret")}
        status = server.post("line", "/webhooks/line", body, headers)
        if not signed:
            assert status == 401
        if status == 200:
            accepted.extend(f"line:{event_id}" for event_id in keep)

    send()
    server.check_kept(accepted, "line")


# ---------------------------------------------------------------- Telegram


@st.composite
def telegram_updates(draw: st.DrawFn) -> tuple[bytes, bool, str | None]:
    """(body, right secret, the key that must be kept when it is answered 200)."""
    secret_ok = draw(st.integers(0, 9)) > 0
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200)), secret_ok, None
    update_id = 700_000 + next(IDS)
    chat = draw(st.integers(1, 5))
    if draw(st.booleans()):
        update = telegram_text(update_id, chat, draw(TEXT)[:4096])
    else:
        update = telegram_press(update_id, chat, draw(SMALL_TEXT))
    if draw(st.integers(0, 3)) == 0:
        part = update["message"] if "message" in update else update["callback_query"]
        key = draw(st.sampled_from(sorted(part)))
        part[key] = draw(JSON_VALUE)
        return ascii_json(update), secret_ok, None
    return ascii_json(update), secret_ok, f"telegram:{update_id}" if secret_ok else None


def test_fuzzing_the_telegram_webhook(server: Server) -> None:
    accepted: list[str] = []

    @FUZZ
    @given(update=telegram_updates())
    def send(update: tuple[bytes, bool, str | None]) -> None:
        body, secret_ok, key = update
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET if secret_ok else "nope"}
        status = server.post("telegram", "/webhooks/telegram", body, headers)
        if not secret_ok:
            assert status == 401
        if status == 200 and key is not None:
            accepted.append(key)

    send()
    server.check_kept(accepted, "telegram")
