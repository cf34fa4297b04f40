"""Two workers over one PostgreSQL, in one test process: what one worker's customers and
agents do reaches the other worker's console pages (LISTEN/NOTIFY), and sign-in attempts
count the same on both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.guard import ADDRESS_LIMIT
from tests.channels import serving


async def _next(queue: asyncio.Queue[dict[str, Any]], kind: str) -> dict[str, Any]:
    while True:
        event = await asyncio.wait_for(queue.get(), 15)
        if event.get("type") == kind:
            return event


async def test_a_console_on_one_worker_hears_what_happens_on_another(tmp_path: Path,
                                                                     pg_url: str) -> None:
    async with serving(tmp_path / "a.db", db_url=pg_url, background=True) as a, \
            serving(tmp_path / "b.db", db_url=pg_url, background=True) as b:
        on_a, on_b = a.server.hub.listen(), b.server.hub.listen()
        angry = "耳機壞了三次都沒人處理，我要找真人客服，不然我要去消保官檢舉"
        async with a.http.post(f"{a.url}/chat/api/messages", json={"text": angry}) as r:
            assert r.status == 200
        escalated = await _next(on_b, "escalated")          # a customer on worker A …
        number = escalated["case"]["number"]
        assert (await _next(on_a, "escalated"))["case"]["number"] == number
        await b.server.desk.act(number, "lin", "claim", role="admin")   # … an agent on B
        changed = await _next(on_a, "changed")
        assert changed["case"]["number"] == number and changed["agent"] == "lin"


async def test_sign_in_attempts_count_on_every_worker(tmp_path: Path, pg_url: str) -> None:
    async with serving(tmp_path / "a.db", db_url=pg_url) as a, \
            serving(tmp_path / "b.db", db_url=pg_url) as b:
        for _ in range(ADDRESS_LIMIT):
            assert await a.server.console.limiter.attempt("203.0.113.9", "lin") is not None
        assert await b.server.console.limiter.attempt("203.0.113.9", "mei") is None
        assert await b.server.console.limiter.attempt("198.51.100.7", "mei") is not None
