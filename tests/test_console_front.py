"""The console's daily tools in a real browser (Playwright, Debian's chromium) against
`heard serve`: unread customer messages, the contact panel, shortcuts, the phone layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desk_harness import PASSWORD, Stubs, desk, line_says, telegram_says
from tests.test_webchat_browser import CHROMIUM

pytest.importorskip("playwright")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

# Records every notification the page raises (headless Chromium shows none).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  function Recorded(title, options) {
    window.__notes.push({ title: String(title), body: String((options || {}).body || "") });
    this.close = () => {};
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


@pytest.fixture(scope="module")
def heard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Stubs]]:
    with desk(tmp_path_factory.mktemp("front")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def sign_in(context: BrowserContext, url: str, username: str) -> Page:
    page = context.new_page()
    page.goto(f"{url}/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#live")).to_have_class("live on")
    return page


def card(page: Page, text: str) -> object:
    return page.locator(".cases li", has_text=text)


def test_a_customer_message_on_a_claimed_case_is_noticed(
        heard: tuple[str, Stubs], browser: Browser) -> None:
    url, _ = heard
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["notifications"], origin=url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    amy = sign_in(context, url, "amy")
    expect(amy.locator("#notify-ask")).to_be_hidden()       # granted already: nothing to ask
    other_context = browser.new_context(viewport={"width": 1280, "height": 900})
    other_context.grant_permissions(["notifications"], origin=url)
    other_context.add_init_script(RECORD_NOTIFICATIONS)
    ben = sign_in(other_context, url, "ben")

    telegram_says(url, 7000001, "美玲", "陳", "我買的吹風機用一次就壞了，我要找真人客服處理")
    claimed = card(amy, "美玲")
    expect(claimed).to_contain_text("吹風機")                 # name and last message
    expect(claimed.locator(".waited")).to_contain_text(re.compile(r"客人等了 (不到 )?\d+ 分鐘"))
    claimed.click()
    number = amy.locator("#v-number").inner_text()
    amy.click("#a-claim")
    expect(amy.locator("#a-status")).to_have_text(f"已接手 {number}")
    line_says(url, "Ufront0000000000000000000000000002", "耳機有雜音，我要找專人")
    other = amy.locator(".cases li", has_text="耳機")
    other.click()                                            # amy is now reading another case
    expect(amy.locator("#v-summary")).to_contain_text("耳機")
    expect(amy).to_have_title("Heard 客服台")                # everything she has is read

    expect(card(ben, number)).to_contain_text("由 amy 處理")
    told_ben = ben.evaluate("window.__notes.length")
    telegram_says(url, 7000001, "美玲", "陳", "請問新的吹風機什麼時候寄出？")
    expect(claimed).to_have_class(re.compile(r"\bunread\b"))
    expect(claimed.locator(".unread-count")).to_have_text("1")
    expect(claimed).to_contain_text("什麼時候寄出")
    expect(amy.locator(".cases li").first).to_contain_text(number)   # unread first
    expect(amy).to_have_title("(1) Heard 客服台")
    notes = amy.evaluate("window.__notes")
    assert notes[-1]["title"] == f"{number} 美玲 陳"
    assert "什麼時候寄出" in notes[-1]["body"]

    expect(card(ben, number)).to_contain_text("什麼時候寄出")   # amy's case: not ben's news
    expect(card(ben, number).locator(".unread-count")).to_have_count(0)
    assert ben.evaluate("window.__notes.length") == told_ben

    claimed.click()                                          # reading it marks it read
    expect(claimed.locator(".unread-count")).to_have_count(0)
    expect(amy).to_have_title("Heard 客服台")
    expect(amy.locator("#v-messages li.customer").last).to_contain_text("美玲 陳")
    amy.reload()                                             # read is kept by the server
    expect(card(amy, number)).to_be_visible()
    expect(card(amy, number).locator(".unread-count")).to_have_count(0)
    context.close()
    other_context.close()


def test_notifications_are_asked_for_once(heard: tuple[str, Stubs], browser: Browser) -> None:
    url, _ = heard
    context = browser.new_context()
    page = sign_in(context, url, "ben")
    ask = page.locator("#notify-ask")
    if page.evaluate("Notification.permission") != "default":
        pytest.skip("this browser answers notification permission without asking")
    expect(ask).to_be_visible()
    ask.click()
    expect(ask).to_be_hidden()
    expect(page.locator("#alert")).to_contain_text("通知")
    page.reload()
    expect(page.locator("#live")).to_have_class("live on")
    expect(ask).to_be_hidden()                               # asked once, remembered
    context.close()
