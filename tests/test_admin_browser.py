"""Admin pages in a real browser (Playwright, Debian's chromium) against `heard serve`: the
per-agent report (two agents handle LINE cases, a lead reads the dashboard and downloads the
table), the accounts page, and trying the bot in the sandbox."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browsers import needs_chromium
from tests.processes import add_agents, heard_serve
from tests.stubs import LINE_SECRET, LINE_TOKEN
from tests.test_console_browser import PASSWORD, StubThread, line_message

needs_chromium()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    line = StubThread()
    db = tmp_path_factory.mktemp("report") / "report.db"
    env = {"HEARD_DB": str(db), "LINE_CHANNEL_SECRET": LINE_SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "LINE_API_HOST": line.url}
    add_agents(env, PASSWORD, [("amy", "Amy", "agent"), ("ben", "Ben", "agent"),
                               ("lin", "Lin", "supervisor"), ("max", "Max", "admin")])
    try:
        with heard_serve(env) as url:
            yield url
    finally:
        line.stop()




def signed_in(browser: Browser, url: str, username: str) -> tuple[Page, str]:
    page = browser.new_context(viewport={"width": 1280, "height": 900},
                               accept_downloads=True).new_page()
    page.goto(f"{url}/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    csrf = page.locator('meta[name="csrf"]').get_attribute("content")
    assert csrf
    return page, csrf


def waiting_case(page: Page, url: str, csrf: str) -> str:
    """The case waiting in the team's queue (one at a time in this test)."""
    for _ in range(200):
        found = page.request.get(f"{url}/console/api/cases?status=waiting",
                                 headers={"X-CSRF-Token": csrf}).json()
        if found:
            return str(found[0]["number"])
        time.sleep(0.05)
    raise AssertionError("the case never reached the queue")


def act(page: Page, url: str, csrf: str, number: str, action: str, **body: str) -> None:
    answer = page.request.post(f"{url}/console/api/cases/{number}/{action}",
                               headers={"X-CSRF-Token": csrf}, data=body)
    assert answer.status == 200, answer.text()


def test_a_lead_reads_the_per_agent_report_and_downloads_it(served: str,
                                                              browser: Browser) -> None:
    url = served
    amy, amy_csrf = signed_in(browser, url, "amy")
    ben, ben_csrf = signed_in(browser, url, "ben")
    line_message(url, "Ureport0000000000000000000000001", "01REPORT00000000000000001",
                 "我要找真人客服，吹風機壞了")
    first = waiting_case(amy, url, amy_csrf)
    act(amy, url, amy_csrf, first, "reply", text="您好，我是 Amy，馬上幫您看")
    act(amy, url, amy_csrf, first, "resolve")
    line_message(url, "Ureport0000000000000000000000002", "01REPORT00000000000000002",
                 "我要找真人客服，包裹沒到")
    second = waiting_case(ben, url, ben_csrf)
    act(ben, url, ben_csrf, second, "claim")

    assert amy.goto(f"{url}/console/dashboard").status == 403          # agents don't see it
    lead, _ = signed_in(browser, url, "lin")
    lead.goto(f"{url}/console/dashboard")
    table = lead.locator("#per-agent table tbody tr")
    expect(table).to_have_count(2)
    amy_row = lead.locator("#per-agent tbody tr", has_text="amy").locator("td")
    expect(amy_row.nth(1)).to_have_text("1")                   # cases handled
    assert float(amy_row.nth(2).inner_text()) >= 0             # a first-reply median
    expect(amy_row.nth(3)).to_have_text("1")                   # resolved
    ben_row = lead.locator("#per-agent tbody tr", has_text="ben").locator("td")
    expect(ben_row.nth(1)).to_have_text("1")
    expect(ben_row.nth(2)).to_have_text("-")                   # claimed, no reply yet
    expect(ben_row.nth(3)).to_have_text("0")
    chart = lead.locator("#per-agent svg")
    expect(chart.locator("text", has_text="amy")).to_have_count(1)
    expect(chart.locator("rect")).to_have_count(2)
    days = lead.locator("#trend figure").first.locator("rect")
    expect(days).to_have_count(30)                              # one column a day
    expect(lead.locator("#trend figcaption").first).to_contain_text("每日")

    with lead.expect_download() as download:
        lead.click("#per-agent a[download]")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert sorted((r["agent"], r["cases handled"], r["resolved"]) for r in rows) == [
        ("amy", "1", "1"), ("ben", "1", "0")]


def test_an_admin_manages_accounts_on_the_page(served: str, browser: Browser) -> None:
    url = served
    admin, _ = signed_in(browser, url, "max")
    admin.goto(f"{url}/console/agents")
    rows = admin.locator("#agents tr")
    expect(rows).to_have_count(4)
    hostile = "<img src=x onerror=window.__pwned=1>"
    admin.fill("#add-form input[name=username]", "zoe")
    admin.fill("#add-form input[name=name]", hostile)
    admin.fill("#add-form input[name=password]", PASSWORD)
    admin.click("#add-form button[type=submit]")
    expect(rows).to_have_count(5)
    zoe = admin.locator("#agents tr[data-username=zoe]")
    expect(zoe.locator("td").nth(1)).to_have_text(hostile)          # a name is text
    assert admin.evaluate("window.__pwned") is None

    admin.fill("#add-form input[name=username]", "zoe")             # taken: refused, said
    admin.fill("#add-form input[name=password]", "another password")
    admin.click("#add-form button[type=submit]")
    expect(admin.locator("#message")).to_contain_text("already exists")
    expect(rows).to_have_count(5)

    zoe.locator("button[data-action=disable]").click()
    expect(zoe.locator("td").nth(3)).to_contain_text("已停用")
    zoe.locator("button[data-action=enable]").click()
    expect(zoe.locator("td").nth(3)).to_contain_text("使用中")
    mine = admin.locator("#agents tr[data-username=max]")
    expect(mine.locator("button[data-action=disable], button[data-action=remove]")).to_have_count(0)
    zoe.locator("button[data-action=remove]").click()
    admin.click("#remove-form button[type=submit]")
    expect(rows).to_have_count(4)
    expect(admin.locator("#message")).to_contain_text("zoe 已移除")


def test_trying_the_bot_says_it_is_a_sandbox(served: str, browser: Browser) -> None:
    url = served
    admin, csrf = signed_in(browser, url, "max")
    admin.goto(f"{url}/console/dialog")
    expect(admin.locator("#t-notice")).to_contain_text("這是測試環境，不會進入案件佇列或報表")
    admin.fill("#t-text", "我買的吹風機用一次就壞了")
    admin.click("#t-form button[type=submit]")
    expect(admin.locator("#t-log li.bot").first).to_be_visible(timeout=30000)
    expect(admin.locator("#t-case")).to_contain_text("測試 sandbox")
    admin.locator("#t-buttons button").first.click()               # a button is pressed
    expect(admin.locator("#t-log li.me")).to_have_count(2)
    waiting = admin.request.get(f"{url}/console/api/cases?status=recent",
                                headers={"X-CSRF-Token": csrf}).json()
    assert all(c["channel"] != "sandbox" for c in waiting)         # not in the real records
