"""The console's daily tools in a real browser (Playwright, Debian's chromium) against
`heard serve`: unread customer messages, the contact panel, shortcuts, the phone layout."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browsers import needs_chromium
from tests.desk_harness import PASSWORD, Stubs, desk, line_says, telegram_says

needs_chromium()

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
    number = claimed.get_attribute("data-number") or ""
    claimed.click()
    expect(amy.locator("#v-number")).to_have_text(number)  # the case is open before it is claimed
    amy.click("#a-claim")
    expect(amy.locator("#a-status")).to_have_text(f"已接手 {number}")
    line_says(url, "Ufront0000000000000000000000000002", "耳機有雜音，我要找專人")
    other = amy.locator(".cases li", has_text="耳機")
    other.click()                                            # amy is now reading another case
    expect(amy.locator("#v-summary")).to_contain_text("耳機")
    expect(amy).to_have_title("Heard 客服台")                # everything she has is read

    expect(card(ben, number)).to_contain_text("由 Amy 林 處理")
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
    amy.select_option("#label", "refund")                   # a filter hides it from the list …
    expect(claimed).to_have_count(0)
    expect(amy).to_have_title("(1) Heard 客服台")            # … not from the count
    amy.select_option("#label", "")
    expect(claimed).to_be_visible()

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


def test_the_contact_panel_shows_who_the_customer_is(
        heard: tuple[str, Stubs], browser: Browser) -> None:
    url, _ = heard
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    amy = sign_in(context, url, "amy")
    telegram_says(url, 7000003, "志明", "張", "包裹寄錯地址了，我要找真人客服")
    card(amy, "志明").click()
    panel = amy.locator("#contact")
    expect(panel.locator("#c-facts")).to_contain_text("志明 張")
    expect(panel.locator("#c-facts")).to_contain_text("telegram")
    expect(panel.locator("#c-facts")).to_contain_text("可以聯絡")
    expect(panel.locator("#c-facts")).to_contain_text("繁體中文")     # the language, named
    expect(panel.locator("#c-facts")).to_contain_text("台北時間")    # the team's time zone
    number = amy.locator("#v-number").inner_text()
    expect(panel.locator("#c-cases")).to_contain_text(number)
    expect(panel.locator("#c-cases")).to_contain_text("轉專人")      # the stage, by name

    hostile = "<img src=x onerror=window.__pwned=1> 偏好下午聯絡"
    amy.fill("#c-note-text", hostile)
    amy.click("#c-note-add")
    expect(panel.locator("#c-notes li")).to_have_text(re.compile(r"^Amy 林：.*偏好下午聯絡"))
    expect(amy.locator("#a-status")).to_have_text("已新增客人備註")
    assert amy.evaluate("window.__pwned") is None
    assert panel.locator("#c-notes img").count() == 0
    amy.fill("#c-note-text", "   ")
    amy.click("#c-note-add")
    expect(amy.locator("#a-status")).to_contain_text("備註沒有存到")
    expect(panel.locator("#c-notes li")).to_have_count(1)

    amy.reload()                                # a note on the customer, kept for everyone
    ben = sign_in(browser.new_context(viewport={"width": 1280, "height": 900}), url, "ben")
    card(ben, number).click()
    expect(ben.locator("#c-notes li")).to_contain_text("偏好下午聯絡")
    context.close()


def test_names_colours_and_times_are_the_teams(
        heard: tuple[str, Stubs], browser: Browser) -> None:
    url, _ = heard
    amy = sign_in(browser.new_context(viewport={"width": 1280, "height": 900}), url, "amy")
    line_says(url, "Ufront0000000000000000000000000005", "吹風機冒煙還有燒焦味，差點燒起來，我要找消保官")
    urgent = amy.locator(".cases li", has_text="冒煙")
    badge = urgent.locator(".badge.sev-urgent")
    expect(badge).to_have_text("緊急")
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(207, 34, 46)"
    urgent.click()
    expect(amy.locator("#v-signals")).to_contain_text("揚言申訴")     # threat, by name
    expect(amy.locator("#v-badges")).to_contain_text("轉專人")
    expect(amy.locator("#v-messages li.bot .author").first).to_have_text("機器人")
    stamp = amy.locator("#v-messages li time").first.inner_text()
    assert re.fullmatch(r"\d\d/\d\d \d\d:\d\d 台北時間", stamp), stamp
    expect(amy.locator("#severity option[value=urgent]")).to_have_text("緊急")


def test_shortcuts_move_claim_reply_and_resolve(
        heard: tuple[str, Stubs], browser: Browser) -> None:
    url, stubs = heard
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    ben = sign_in(context, url, "ben")
    telegram_says(url, 7000006, "小美", "黃", "訂的口紅顏色寄錯了，我要找真人")
    telegram_says(url, 7000007, "大衛", "吳", "退款一直沒有收到，我要找真人")
    expect(card(ben, "小美")).to_be_visible()
    expect(card(ben, "大衛")).to_be_visible()

    ben.keyboard.press("?")
    expect(ben.locator("#help")).to_be_visible()
    expect(ben.locator("#help")).to_contain_text("下一個／上一個案件")
    ben.keyboard.press("Escape")
    expect(ben.locator("#help")).to_be_hidden()

    first, second = (ben.locator(".cases li").nth(i).get_attribute("data-number") for i in (0, 1))
    ben.keyboard.press("j")                                  # the first case in the queue
    expect(ben.locator("#v-number")).to_have_text(first or "")
    ben.keyboard.press("j")
    expect(ben.locator("#v-number")).to_have_text(second or "")
    ben.keyboard.press("k")
    expect(ben.locator("#v-number")).to_have_text(first or "")
    number = card(ben, "小美").get_attribute("data-number") or ""
    card(ben, number).click()
    expect(ben.locator("#v-number")).to_have_text(number)
    ben.locator("#v-summary").click()                        # focus off the list

    ben.keyboard.press("c")
    expect(ben.locator("#a-status")).to_have_text(f"已接手 {number}")
    ben.keyboard.press("r")
    expect(ben.locator("#a-text")).to_be_focused()
    ben.keyboard.type("j")                                   # typing never moves the queue
    expect(ben.locator("#v-number")).to_have_text(number)
    ben.fill("#a-text", "")
    ben.keyboard.type("/跟您")                               # "/" opens the canned replies
    options = ben.locator("#canned-filter li")
    expect(options.first).to_contain_text("跟您確認")
    ben.keyboard.press("Escape")
    expect(ben.locator("#canned-filter")).to_be_hidden()
    expect(ben.locator("#a-text")).to_have_value("")
    ben.keyboard.type("/負責")
    ben.keyboard.press("Enter")
    expect(ben.locator("#a-text")).to_have_value(re.compile(rf"我是Ben 陳.*{number}"))
    ben.keyboard.press("Control+Enter")
    expect(ben.locator("#a-status")).to_have_text("已送出回覆")
    expect(ben.locator("#v-messages li.agent .author").last).to_have_text("Ben 陳")

    ben.locator("#v-summary").click()
    ben.keyboard.press("n")
    ben.keyboard.type("客人下午比較方便")
    ben.keyboard.press("Control+Enter")
    expect(ben.locator("#a-status")).to_have_text("已存成內部備註")
    expect(ben.locator("#v-notes")).to_contain_text("客人下午比較方便")

    ben.fill("#a-commitment", "明天寄出正確顏色")            # forms clear on switching cases
    ben.fill("#a-text", "還沒送出的字")
    ben.locator("#v-summary").click()
    ben.keyboard.press("j" if ben.locator(".cases li").last.get_attribute("data-number") != number
                       else "k")
    expect(ben.locator("#v-number")).not_to_have_text(number)
    expect(ben.locator("#a-text")).to_have_value("")
    expect(ben.locator("#a-commitment")).to_have_value("")
    card(ben, number).click()

    ben.once("dialog", lambda dialog: dialog.dismiss())      # resolving asks first
    ben.keyboard.press("e")
    expect(ben.locator("#v-badges")).to_contain_text("轉專人")
    ben.once("dialog", lambda dialog: dialog.accept())
    ben.keyboard.press("e")
    expect(ben.locator("#a-status")).to_have_text(f"已處理 {number}，已排定回訪")
    expect(ben.locator("#v-badges")).to_contain_text("已承諾")
    assert any("Ben 陳" in m.get("text", "") for m in stubs.telegram.sent)
    context.close()


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_console_on_a_phone(heard: tuple[str, Stubs], browser: Browser) -> None:
    url, _ = heard
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    amy = sign_in(phone, url, "amy")
    telegram_says(url, 7000008, "阿明", "劉", "充電器插上去就發燙，我要找真人客服")
    item = card(amy, "阿明")
    expect(item).to_be_visible()
    expect(amy.locator("#view")).to_be_hidden()
    box = amy.locator(".queue").bounding_box()
    assert box is not None and box["width"] >= 380          # the list fills the screen
    no_sideways_scroll(amy)

    item.click()
    expect(amy.locator("#view")).to_be_visible()
    expect(amy.locator(".queue")).to_be_hidden()             # the case, full screen
    expect(amy.locator("#back")).to_be_visible()
    view = amy.locator("#view").bounding_box()
    assert view is not None and view["x"] == 0 and view["width"] >= 380
    no_sideways_scroll(amy)
    amy.locator("#a-reply").scroll_into_view_if_needed()
    expect(amy.locator("#a-reply")).to_be_visible()

    amy.go_back()                                            # the phone's own back button
    expect(amy.locator(".queue")).to_be_visible()
    expect(amy.locator("#view")).to_be_hidden()
    item.click()
    amy.click("#back")
    expect(amy.locator(".queue")).to_be_visible()

    phone.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    lin = sign_in(phone, url, "lin")
    lin.goto(f"{url}/console/dashboard")
    expect(lin.locator(".card").first).to_be_visible()
    no_sideways_scroll(lin)
    phone.close()
