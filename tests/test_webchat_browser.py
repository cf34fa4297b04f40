"""The web chat in a real browser (Playwright with Debian's chromium) against `heard serve`."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.locale import detect_locale
from tests.browsers import needs_chromium
from tests.processes import heard_serve

needs_chromium()
ROOT = Path(__file__).resolve().parent.parent

HAN = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with heard_serve({"HEARD_DB": str(tmp_path_factory.mktemp("web") / "web.db")}) as url:
        yield url




@contextmanager
def browsing(browser: Browser, locale: str) -> Iterator[Page]:
    """A page in a browser whose language is `locale` (navigator.languages, Accept-Language)."""
    context = browser.new_context(viewport={"width": 390, "height": 780}, locale=locale)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with browsing(browser, "zh-TW") as page:
        yield page


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


@contextmanager
def shop_site(folder: Path, embed: str) -> Iterator[str]:
    """A shop's own site on another origin, with Heard's embed line on its page."""
    (folder / "shop.html").write_text(f'<!doctype html><meta charset="utf-8"><title>shop</title>'
                                      f'<h1>My shop</h1>{embed}', encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/shop.html"
    finally:
        site.shutdown()


def test_the_embed_snippet_opens_the_chat(server: str, page: Page, tmp_path: Path) -> None:
    embed = f'<script src="{server}/static/embed.js" data-label="客服" async></script>'
    with shop_site(tmp_path, embed) as shop:
        page.goto(shop)
        page.get_by_role("button", name="客服").click()
        frame = page.frame_locator("iframe[title='客服']")
        expect(frame.locator("#text")).to_be_visible()
        expect(frame.locator("#send")).to_have_text("送出")


# ---------------------------------------------------------------- the frame's language

FRAMES = {   # what a customer sees before typing: heading, new-chat link, send button, hint
    "zh-TW": ("客服中心", "新對話", "送出", "請描述遇到的狀況…"),
    "zh-CN": ("客服中心", "新对话", "发送", "请描述遇到的情况…"),
    "en": ("Customer support", "New chat", "Send", "Describe what happened…"),
}


def expect_frame(page: Page, locale: str) -> None:
    heading, restart, send, placeholder = FRAMES[locale]
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("#restart")).to_have_text(restart)
    expect(page.locator("#send")).to_have_text(send)
    expect(page.locator("#text")).to_have_attribute("placeholder", placeholder)
    words = " ".join([page.title(), page.locator("main").inner_text(),
                      page.locator("#restart").get_attribute("title") or "",
                      page.locator("main").get_attribute("aria-label") or "", placeholder])
    if locale == "en":
        assert not HAN.search(words), words           # nothing left in Chinese
    else:
        assert detect_locale(words) == locale, words  # the right script throughout


@pytest.mark.parametrize("locale", ["en", "zh-CN", "zh-TW"])
def test_the_frame_speaks_the_language_the_address_names(server: str, browser: Browser,
                                                          locale: str) -> None:
    other = "en-US" if locale != "en" else "zh-TW"    # the address wins over the browser
    with browsing(browser, other) as page:
        page.goto(f"{server}/?lang={locale}")
        expect_frame(page, locale)


@pytest.mark.parametrize(("browser_locale", "locale"), [
    ("en-GB", "en"), ("zh-CN", "zh-CN"), ("zh-SG", "zh-CN"), ("zh-HK", "zh-TW"),
    ("zh-TW", "zh-TW"), ("ja-JP", "zh-TW"),
])
def test_the_browser_language_picks_the_frame_without_a_query(
        server: str, browser: Browser, browser_locale: str, locale: str) -> None:
    with browsing(browser, browser_locale) as page:
        page.goto(server)
        expect_frame(page, locale)
        page.goto(f"{server}/?lang=klingon")          # a language we do not have is ignored
        expect_frame(page, locale)


def test_every_locale_has_every_frame_string(server: str, page: Page) -> None:
    page.goto(server)
    keys = page.evaluate("Object.fromEntries(Object.entries(HeardFrame.strings)"
                         ".map(([l, t]) => [l, Object.keys(t).filter((k) => t[k]).sort()]))")
    assert set(keys) == {"zh-TW", "zh-CN", "en"}
    assert keys["zh-CN"] == keys["zh-TW"] and keys["en"] == keys["zh-TW"]


@pytest.mark.parametrize(("locale", "text", "reply"), [
    ("en", "?", "Your case number is"),
    ("en", "🙂", "Your case number is"),
    ("zh-CN", "?", "已经收到您的消息"),
])
def test_the_frame_language_is_the_bots_language_when_the_text_does_not_tell(
        server: str, page: Page, locale: str, text: str, reply: str) -> None:
    page.goto(f"{server}/?lang={locale}")             # the browser itself says zh-TW
    say(page, text)
    expect(page.locator(".msg.bot").first).to_contain_text(reply)
    case_label = {"en": "Case 2026CS", "zh-CN": "案件编号 2026CS"}[locale]
    expect(page.locator("#case")).to_contain_text(case_label)


def test_the_embed_line_chooses_the_language(server: str, page: Page, tmp_path: Path) -> None:
    embed = f'<script src="{server}/static/embed.js" data-lang="en" async></script>'
    with shop_site(tmp_path, embed) as shop:
        page.goto(shop)                               # the browser says zh-TW; the shop says en
        page.get_by_role("button", name="Support").click()
        frame = page.frame_locator("iframe[title='Support']")
        expect(frame.locator("#send")).to_have_text("Send")
        expect(frame.locator("#text")).to_have_attribute("placeholder", "Describe what happened…")
        expect(frame.locator("html")).to_have_attribute("lang", "en")


def test_the_embed_button_follows_the_browser_language(server: str, browser: Browser,
                                                        tmp_path: Path) -> None:
    embed = f'<script src="{server}/static/embed.js" async></script>'
    with shop_site(tmp_path, embed) as shop, browsing(browser, "zh-CN") as page:
        page.goto(shop)
        page.get_by_role("button", name="在线客服").click()
        frame = page.frame_locator("iframe[title='在线客服']")
        expect(frame.locator("#send")).to_have_text("发送")


def test_the_notices_speak_the_frame_language(server: str, browser: Browser) -> None:
    with browsing(browser, "zh-TW") as page:
        page.goto(f"{server}/?lang=zh-CN")
        page.context.set_offline(True)                # the next poll fails
        expect(page.locator("#status")).to_have_text("网络连接已断开，正在重新连接…", timeout=10_000)
        page.context.set_offline(False)
        expect(page.locator("#status")).to_have_text("", timeout=10_000)
        page.route("**/chat/api/messages", lambda route: route.abort()
                   if route.request.method == "POST" else route.continue_())
        say(page, "我的鼠标坏了")
        expect(page.locator("#status")).to_have_text("消息没有发出去，请重试。")
        expect(page.locator("#text")).to_have_value("我的鼠标坏了")   # kept to send again
