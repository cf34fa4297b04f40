"""The web chat in a real browser (Playwright with Debian's chromium) against `heard serve`."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.processes import heard_serve  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with heard_serve({"HEARD_DB": str(tmp_path_factory.mktemp("web") / "web.db")}) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                    args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-TW")
    page = context.new_page()
    yield page
    context.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_a_complaint_from_first_message_to_remedy_with_a_reload(server: str, page: Page) -> None:
    page.goto(server)
    say(page, "我買的加濕器用兩天就不出霧了，打給客服三次都沒有答案")
    bot = page.locator(".msg.bot")
    expect(bot.nth(1)).to_contain_text("您購買的加濕器使用兩天後就無法出霧")
    expect(page.locator("#case")).to_contain_text("2026CS")
    number = page.locator("#case").inner_text().split()[-1]

    page.get_by_role("button", name="對，沒錯").click()
    expect(page.locator(".msg.bot").last).to_contain_text("1. ")
    remedies = page.locator(".msg.bot").last.locator(".buttons button")
    expect(remedies).to_have_count(3)

    page.reload()                                     # same conversation after a reload
    expect(page.locator(".msg.bot").nth(1)).to_contain_text("加濕器")
    expect(page.locator("#case")).to_contain_text(number)
    expect(page.locator(".msg.customer").nth(1)).to_contain_text("對，沒錯")
    page.locator(".msg.bot").last.locator(".buttons button").first.click()
    expect(page.locator(".msg.bot").last).to_contain_text(number)
    expect(page.locator(".msg.bot").last).to_contain_text("已經為您安排")
    # the earlier buttons can't be pressed again
    assert page.locator(".buttons button:enabled").count() == 0
    # a phone-sized screen needs no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_markup_a_visitor_types_is_shown_as_text(server: str, page: Page) -> None:
    page.goto(server)
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">我的滑鼠壞了'
    say(page, hostile)
    expect(page.locator(".msg.customer").first).to_have_text(hostile)
    expect(page.locator(".msg.bot").nth(1)).to_contain_text("滑鼠")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".log img").count() == 0 and page.locator(".log script").count() == 0


def test_the_embed_snippet_opens_the_chat(server: str, page: Page, tmp_path: Path) -> None:
    shop = tmp_path / "shop.html"
    shop.write_text(f'<!doctype html><meta charset="utf-8"><title>shop</title><h1>My shop</h1>'
                    f'<script src="{server}/static/embed.js" data-label="客服" async></script>',
                    encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/shop.html")
        page.get_by_role("button", name="客服").click()
        frame = page.frame_locator("iframe[title='客服']")
        expect(frame.locator("#text")).to_be_visible()
    finally:
        site.shutdown()
