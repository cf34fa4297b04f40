"""`heard serve` with agents and the LINE and Telegram stubs, and customers writing to it
through the real webhooks and web chat: shared by the console browser tests and
`scripts/screenshots.py`."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.channels import line_body, line_event, sign, telegram_text
from tests.processes import add_agents, heard_serve
from tests.stubs import LINE_SECRET, LINE_TOKEN, TELEGRAM_TOKEN, LineStub, TelegramStub

PASSWORD = "correct horse battery"
AGENTS = (("amy", "Amy 林", "agent"), ("ben", "Ben 陳", "agent"), ("lin", "Lin 王", "admin"))


class Stubs:
    """The LINE and Telegram stubs on their own event loop, beside synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.line, self.telegram = LineStub(), TelegramStub()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.line_url = self._run(self.line.start())
        self.telegram_url = self._run(self.telegram.start())

    def _run(self, job: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(job, self.loop).result(10)

    def stop(self) -> None:
        self._run(self.line.stop())
        self._run(self.telegram.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


@contextmanager
def desk(folder: Path) -> Iterator[tuple[str, Stubs]]:
    """Heard on a fresh records file in `folder`, with three agents (password PASSWORD)."""
    stubs = Stubs()
    env = {"HEARD_DB": str(folder / "desk.db"), "LINE_CHANNEL_SECRET": LINE_SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "LINE_API_HOST": stubs.line_url,
           "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
           "TELEGRAM_API_URL": f"{stubs.telegram_url}/bot"}
    add_agents(env, PASSWORD, AGENTS)
    try:
        with heard_serve(env) as url:
            yield url, stubs
    finally:
        stubs.stop()


_ids = itertools.count(int.from_bytes(os.urandom(3), "big"))


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def line_says(url: str, user: str, text: str) -> None:
    body = line_body(line_event("text", user, f"01FRONT{next(_ids):019d}", text=text))
    _post(f"{url}/webhooks/line", body, {"X-Line-Signature": sign(body)})


def telegram_says(url: str, chat: int, first: str, last: str, text: str) -> None:
    update = telegram_text(next(_ids), chat, text)
    for part in ("from", "chat"):
        update["message"][part].update(first_name=first, last_name=last)
    update["message"]["from"]["language_code"] = "zh-hant"
    _post(f"{url}/webhooks/telegram", json.dumps(update, ensure_ascii=False).encode(), {})
