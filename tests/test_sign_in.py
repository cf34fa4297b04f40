"""Signing in to the console under attack (issue 13, items 6 and 11): the attempt is
counted before the slow password check, which runs off the event loop; limits hold per
address and per account; `X-Forwarded-For` counts only from configured proxies; a
username never reaches the log."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import threading
from pathlib import Path

import aiohttp
import pytest

from bot import accounts
from tests.channels import Served, serving
from tests.test_console import PASSWORD, add_agent, sign_in

PROXY = (ipaddress.ip_network("127.0.0.1/32"),)


async def attempt(s: Served, username: str, password: str,
                  forwarded: str | None = None) -> str:
    """One sign-in from a fresh browser; returns where the server sent it."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{s.url}/console", headers=headers) as r:
            found = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert found
        async with http.post(f"{s.url}/console/login", headers=headers, allow_redirects=False,
                             data={"csrf": found.group(1), "username": username,
                                   "password": password}) as r:
            return r.headers["Location"]


async def test_thirty_concurrent_guesses_meet_a_limit_of_five(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        answers = await asyncio.gather(*(attempt(s, "amy", f"guess number {n}")
                                         for n in range(30)))
        assert answers.count("/console?error=failed") <= 5      # checked, and wrong
        assert answers.count("/console?error=limited") >= 25    # never checked
        assert await attempt(s, "amy", PASSWORD) == "/console?error=limited"


async def test_the_password_check_runs_off_the_event_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = accounts.verify_password

    def watched(stored_hash: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(stored_hash, password)

    monkeypatch.setattr(accounts, "verify_password", watched)
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        http, csrf = await sign_in(s, "amy")
        await http.close()
        assert csrf
    assert threads and all(name.startswith("heard-password") for name in threads)


async def test_a_forwarded_address_counts_only_from_a_configured_proxy(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:                 # no proxies configured
        add_agent(db, "amy")
        for n in range(5):
            await attempt(s, "amy", "wrong password!", forwarded=f"203.0.113.{n}")
        # a made-up X-Forwarded-For does not walk around the per-address limit
        assert await attempt(s, "amy", PASSWORD, forwarded="198.51.100.7") == \
            "/console?error=limited"


async def test_behind_a_proxy_one_address_is_locked_out_not_everyone(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db, trusted_proxies=PROXY) as s:
        add_agent(db, "amy")
        add_agent(db, "ben")
        for _ in range(5):
            await attempt(s, "ben", "wrong password!", forwarded="203.0.113.9")
        assert await attempt(s, "ben", PASSWORD, forwarded="203.0.113.9") == \
            "/console?error=limited"
        # another agent behind the same proxy signs in fine
        assert await attempt(s, "amy", PASSWORD, forwarded="198.51.100.20") == "/console"


async def test_an_account_is_limited_whatever_the_address(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db, trusted_proxies=PROXY) as s:
        add_agent(db, "amy")
        for n in range(10):                       # ten addresses, two guesses each at most
            await attempt(s, "amy", "wrong password!", forwarded=f"203.0.113.{n}")
        assert await attempt(s, "amy", PASSWORD, forwarded="198.51.100.1") == \
            "/console?error=limited"


async def test_a_failed_username_never_reaches_the_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        with caplog.at_level(logging.INFO):
            for _ in range(6):
                await attempt(s, "我的電話0912345678 amy.lee@example.com", "wrong password!")
    assert "console: failed sign-in" in caplog.text
    assert "too many sign-in attempts" in caplog.text
    for leak in ("0912345678", "345678", "amy.lee", "我的電話"):
        assert leak not in caplog.text
