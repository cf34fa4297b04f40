"""Two agents in real browsers (Playwright, Debian's chromium) against `heard serve`."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from dialogs.loader import default_dialog_path
from tests.browsers import needs_chromium
from tests.channels import line_body, line_event, sign
from tests.processes import add_agents, heard_serve
from tests.stubs import LINE_SECRET, LINE_TOKEN, LineStub

needs_chromium()

PASSWORD = "correct horse battery"


class StubThread:
    """The LINE stub on its own event loop, beside the synchronous browser test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stub = LineStub()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.url = asyncio.run_coroutine_threadsafe(self.stub.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.stub.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StubThread, Path]]:
    line = StubThread()
    db = tmp_path_factory.mktemp("desk") / "desk.db"
    dialog = db.parent / "shop.yml"
    dialog.write_text(default_dialog_path().read_text(encoding="utf-8"), encoding="utf-8")
    env = {"HEARD_DB": str(db), "LINE_CHANNEL_SECRET": LINE_SECRET,
           "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "LINE_API_HOST": line.url, "LINE_DATA_HOST": line.url,
           "HEARD_DIALOG": str(dialog)}
    add_agents(env, PASSWORD, [("amy", "Amy", "agent"), ("ben", "Ben", "agent"),
                               ("lin", "Lin", "admin")])
    try:
        with heard_serve(env) as url:
            yield url, line, dialog
    finally:
        line.stop()




def agent_page(browser: Browser, url: str, username: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#who")).to_have_text(username.title())
    expect(page.locator("#live")).to_have_class("live on")
    return page


def line_message(url: str, user: str, event: str, text: str) -> None:
    body = line_body(line_event("text", user, event, text=text))
    request = urllib.request.Request(f"{url}/webhooks/line", data=body, method="POST",
                                     headers={"X-Line-Signature": sign(body),
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_an_escalated_line_case_from_live_arrival_to_resolution(
        desk: tuple[str, StubThread, Path], browser: Browser) -> None:
    url, line, _ = desk
    amy = agent_page(browser, url, "amy")
    ben = agent_page(browser, url, "ben")
    hostile = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
    line_message(url, "Ubrowser000000000000000000000001", "01BROWSER0000000000000001",
                 "我買的吹風機用一次就壞了，再不處理我就找消保官 " + hostile)

    card = amy.locator(".cases li").first
    expect(card).to_contain_text("等待認領")            # appeared without a reload
    expect(amy.locator("#alert")).to_contain_text("新案件")
    assert amy.title().startswith("(1)")
    card.click()
    expect(amy.locator("#v-signals")).to_contain_text("消保官")
    expect(amy.locator("#v-explain")).to_contain_text("信心")          # why this category
    expect(amy.locator("#v-explain")).to_contain_text("最接近的範例")
    expect(amy.locator("#v-messages li").first).to_contain_text(hostile)   # shown as text
    assert amy.evaluate("window.__pwned") is None
    assert amy.locator("#v-messages img, #v-messages script").count() == 0

    amy.click("#a-claim")
    expect(amy.locator("#v-badges")).to_contain_text("由 Amy 處理")
    expect(ben.locator(".cases li").first).to_contain_text("由 Amy 處理")  # live for ben too

    amy.fill("#a-text", "您好，我是 Amy，今天會寄出全新的吹風機給您。")
    amy.click("#a-reply")
    expect(amy.locator("#v-messages li.agent")).to_contain_text("今天會寄出")
    deadline = time.time() + 10
    while time.time() < deadline and not any(
            "今天會寄出" in m["text"] for p in line.stub.pushes for m in p["messages"]):
        time.sleep(0.1)
    assert any("今天會寄出" in m["text"] for p in line.stub.pushes for m in p["messages"])

    amy.click("#a-resolve")
    expect(amy.locator("#v-badges")).to_contain_text("已承諾")              # the stage, by its name
    ben.select_option("#status", "recent")
    expect(ben.locator(".cases li").first).to_contain_text("機器人")
    assert ben.evaluate("window.__pwned") is None


def pushed_to(line: StubThread, user: str, text: str) -> dict[str, Any]:
    """The first LINE message pushed to `user` that contains `text` (waits up to 10 s)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        for push in list(line.stub.pushes):
            for message in push["messages"]:
                if push.get("to") == user and text in message["text"]:
                    return dict(message)
        time.sleep(0.1)
    raise AssertionError(f"nothing with {text!r} was pushed to {user}")


def test_handing_back_the_agent_picks_what_the_bot_does_next(
        desk: tuple[str, StubThread, Path], browser: Browser) -> None:
    url, line, _ = desk
    user = "Ubrowser000000000000000000000003"
    amy = agent_page(browser, url, "amy")
    line_message(url, user, "01BROWSER0000000000000003", "我買的耳機有雜音，我要找主管處理")
    card = amy.locator(".cases li", has_text="耳機")
    card.click()
    expect(amy.locator("#v-number")).not_to_be_empty()
    amy.click("#a-claim")
    expect(amy.locator("#v-badges")).to_contain_text("由 Amy 處理")
    amy.fill("#a-text", "您好，我是 Amy，雜音的問題我們一定處理，您看看想換新還是退款。")
    amy.click("#a-reply")
    expect(amy.locator("#v-messages li.agent")).to_contain_text("換新還是退款")

    choices = amy.locator("#a-handback-choices")
    expect(choices).to_be_hidden()
    amy.click("#a-handback")                              # a choice, never a direct hand-back
    expect(choices).to_be_visible()
    expect(amy.locator("#v-badges")).to_contain_text("轉專人")
    expect(choices.locator("[data-then=confirm]")).to_be_disabled()    # nothing promised yet
    assert "commitment" in (choices.locator("[data-then=confirm]").get_attribute("title") or "")
    for enabled in ("close", "offer", "listen"):
        expect(choices.locator(f"[data-then={enabled}]")).to_be_enabled()
    amy.click("#a-handback-cancel")
    expect(choices).to_be_hidden()
    number = amy.locator("#v-number").inner_text()
    status, error = amy.evaluate("""async (number) => {
        const csrf = document.querySelector('meta[name="csrf"]').content;
        const r = await fetch("/console/api/cases/" + number + "/hand_back", {method: "POST",
            headers: {"X-CSRF-Token": csrf, "Content-Type": "application/json"}, body: "{}"});
        return [r.status, (await r.json()).error];
    }""", number)
    assert status == 400 and "close, confirm, offer, listen" in error   # no choice, no hand-back

    amy.click("#a-handback")
    choices.locator("[data-then=offer]").click()
    expect(choices).to_be_hidden()
    expect(amy.locator("#v-badges")).to_contain_text("提供方案")
    offer = pushed_to(line, user, "如果您想換個處理方式")
    datas = [i["action"]["data"] for i in offer["quickReply"]["items"]]
    assert len(datas) == 3 and datas[0].startswith("remedy:") and datas[2] == "human"
    expect(amy.locator("#v-messages li.bot").last).to_contain_text("如果您想換個處理方式")
    expect(amy.locator("#a-handback")).to_be_disabled()   # the bot has the case again


def test_admins_see_the_dashboard_and_the_dialog_status(
        desk: tuple[str, StubThread, Path], browser: Browser) -> None:
    url, _, dialog = desk
    line_message(url, "Ubrowser000000000000000000000002", "01BROWSER0000000000000002",
                 "我的包裹等了一個禮拜還沒到")
    lin = agent_page(browser, url, "lin")
    lin.goto(f"{url}/console/dashboard")
    expect(lin.locator(".card").first).to_contain_text("案件")
    expect(lin.locator("figure.chart svg").first).to_be_visible()
    expect(lin.locator("figure.chart").first).to_contain_text("物流配送")   # names, not keys
    expect(lin.locator("figure.chart").first).not_to_contain_text("logistics")
    assert lin.locator("figure.chart svg rect").count() >= 2

    lin.goto(f"{url}/console/dialog")
    version = lin.locator("#d-version").inner_text()
    assert len(version) == 12 and lin.locator("#d-error").inner_text() == ""
    lin.fill("#s-text", "stories:\n  - name: parcel\n    turns:\n      - say: 包裹還沒到\n"
                        "        expect: {category: logistics}\n")
    lin.click("#s-run")
    # the first run in an HTTP worker builds the text model there: seconds on a busy machine
    expect(lin.locator("#s-result")).to_contain_text("1 passed, 0 failed", timeout=30_000)

    good = dialog.read_text(encoding="utf-8")
    dialog.write_text(good.replace("risk_threshold: 1.0", "risk_threshold: lots"),
                      encoding="utf-8")
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            lin.reload()
            if lin.locator("#d-error").inner_text():
                break
            time.sleep(0.5)
        expect(lin.locator("#d-error")).to_contain_text(f"{dialog}:risk_threshold")
        expect(lin.locator("#d-version")).to_have_text(version)    # the last good one is live
    finally:
        dialog.write_text(good, encoding="utf-8")

    amy = agent_page(browser, url, "amy")
    response = amy.goto(f"{url}/console/dashboard")
    assert response is not None and response.status == 403        # agents don't see it
