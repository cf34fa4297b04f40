"""Search and labels in the console, in a real browser (Playwright, Debian's chromium)
against `heard serve`, with customers writing on LINE (the local stub)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from dialogs.loader import default_dialog_path
from tests.browsers import needs_chromium
from tests.processes import add_agents, heard_serve
from tests.stubs import LINE_SECRET, LINE_TOKEN
from tests.test_console_browser import PASSWORD, StubThread, agent_page, line_message

needs_chromium()

KETTLE = "Ufind0000000000000000000000000001"
EARPHONES = "Ufind0000000000000000000000000002"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StubThread]]:
    line = StubThread()
    db = tmp_path_factory.mktemp("find") / "desk.db"
    dialog = db.parent / "shop.yml"
    dialog.write_text(default_dialog_path().read_text(encoding="utf-8"), encoding="utf-8")
    env = {"HEARD_DB": str(db), "LINE_CHANNEL_SECRET": LINE_SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "LINE_API_HOST": line.url,
           "HEARD_DIALOG": str(dialog)}
    add_agents(env, PASSWORD, [("amy", "Amy", "agent"), ("lin", "Lin", "admin")])
    try:
        with heard_serve(env) as url:
            line_message(url, KETTLE, "01FIND00000000000000000001",
                         "我訂的電熱水壺到貨時外盒破損，壺身也有裂痕，訂單編號 TW88231 " + HOSTILE)
            line_message(url, EARPHONES, "01FIND00000000000000000002",
                         "耳機右邊沒有聲音，已經第二次了，再不處理我就找消保官")
            answered(line, {KETTLE, EARPHONES})
            yield url, line
    finally:
        line.stop()




def answered(line: StubThread, users: set[str]) -> None:
    """Wait until the bot has answered these customers (their turns are stored)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if users <= {user for user, _ in line.stub.received}:
            return
        time.sleep(0.1)
    raise AssertionError("the bot did not answer")


def search(page: Page, query: str) -> None:
    page.fill("#find-q", query)
    page.click("#find button[type=submit]")


def test_search_by_chinese_words_and_by_order_number(
        desk: tuple[str, StubThread], browser: Browser) -> None:
    url, _ = desk
    amy = agent_page(browser, url, "amy")
    results = amy.locator("#find-list li")

    search(amy, "裂痕")                                    # two characters: below trigrams
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("壺身也有裂痕")
    expect(results.first).to_contain_text("客人說")
    expect(amy.locator("#find-status")).to_contain_text("找到 1 件")

    search(amy, "外盒破損")                                # a longer word, through the index
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("電熱水壺")

    search(amy, "tw88231")                                 # an order number, any case
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("TW88231")
    assert amy.locator("#find-list img").count() == 0     # the customer's markup is text
    expect(results.first).to_contain_text("<img src=x onerror")
    assert amy.evaluate("window.__pwned") is None

    search(amy, "耳機 消保官")                              # every word, one case
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("耳機右邊沒有聲音")
    search(amy, "耳機 裂痕")
    expect(results).to_have_count(0)
    expect(amy.locator("#find-status")).to_contain_text("找不到符合「耳機 裂痕」的案件")

    for typed in ('"裂痕', "破損 OR (", "*", "NEAR(外盒 裂痕)"):   # FTS syntax is only text
        search(amy, typed)
        expect(amy.locator("#find-status")).to_contain_text(f"找不到符合「{typed}」的案件")

    search(amy, "TW88231")
    results.first.click()                                  # a result opens the case
    expect(amy.locator("#v-summary")).not_to_be_empty()
    expect(amy.locator("#v-messages li.customer").first).to_contain_text("TW88231")
    number = amy.locator("#v-number").inner_text()
    search(amy, number)
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(number)
    amy.click("#find-close")
    expect(amy.locator("#find-results")).to_be_hidden()


def test_labels_are_added_filtered_exported_and_removed(
        desk: tuple[str, StubThread], browser: Browser) -> None:
    url, _ = desk
    other = "Ufind0000000000000000000000000003"
    line_message(url, other, "01FIND00000000000000000003",
                 "吹風機用一次就壞了，我要找主管，不然我就投訴消保官")
    amy = agent_page(browser, url, "amy")
    queue = amy.locator(".cases li")
    expect(queue).to_have_count(2, timeout=15000)        # both escalated cases wait
    queue.filter(has_text="耳機").click()
    expect(amy.locator("#v-labels")).to_contain_text("還沒有標籤")

    amy.fill("#v-label-new", "退款")                      # the dialog's label, by its name
    amy.click("#v-label-add")
    chip = amy.locator("#v-labels .label-chip[data-label=refund]")
    expect(chip).to_contain_text("退款")
    amy.fill("#v-label-new", "  第二次   客訴 ")           # a free label, tidied
    amy.press("#v-label-new", "Enter")
    expect(amy.locator("#v-labels .label-chip.free")).to_contain_text("第二次 客訴")
    amy.fill("#v-label-new", "退款")
    amy.click("#v-label-add")
    expect(amy.locator("#v-label-status")).to_contain_text("already has the label")
    expect(amy.locator("#v-labels .label-chip")).to_have_count(2)

    card = queue.filter(has_text="耳機")
    expect(card.locator(".label-chip")).to_have_count(2)   # the queue shows them too
    amy.select_option("#label", "refund")                  # the filter
    expect(queue).to_have_count(1)
    expect(queue.first).to_contain_text("耳機")
    amy.select_option("#label", "第二次 客訴")
    expect(queue).to_have_count(1)
    amy.select_option("#label", "")
    expect(queue).to_have_count(2)

    lin = agent_page(browser, url, "lin")                  # the export has a labels column
    response = lin.request.get(f"{url}/console/export.csv")
    assert response.ok
    rows = list(csv.DictReader(io.StringIO(response.text())))
    labelled = [r for r in rows if "耳機" in r["account"]]
    assert len(labelled) == 1 and labelled[0]["labels"] == '["refund", "第二次 客訴"]'
    assert all(r["labels"] == "[]" for r in rows if r is not labelled[0])
    lin.goto(f"{url}/console/dashboard")
    expect(lin.locator("figure", has_text="依標籤")).to_contain_text("退款")     # by name

    amy.locator("#v-labels .label-chip[data-label=refund] button").click()   # removed
    expect(amy.locator("#v-labels .label-chip")).to_have_count(1)
    expect(amy.locator("#v-labels")).not_to_contain_text("退款")
    amy.select_option("#label", "refund")
    expect(queue).to_have_count(0)
