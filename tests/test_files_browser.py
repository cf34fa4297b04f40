"""A photo sent from the web chat shows as a thumbnail in the console (real Chromium,
`heard serve` with its workers): the image really loads, and only for a signed-in agent."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browsers import needs_chromium
from tests.channels import line_body, line_event, sign
from tests.test_console_browser import StubThread, agent_page, desk
from tests.test_files_channels import jpeg

needs_chromium()

__all__ = ["desk"]     # the console tests' fixtures: one server, agents amy/ben/lin


@pytest.fixture
def chat(desk: tuple[str, StubThread, Path], browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-TW")
    page = context.new_page()
    page.goto(desk[0] + "/?lang=zh-TW")
    yield page
    context.close()


def test_a_photo_from_the_web_chat_is_a_thumbnail_in_the_console(
        desk: tuple[str, StubThread, Path], browser: Browser, chat: Page) -> None:
    url = desk[0]
    chat.set_input_files("#file", files=[{"name": "破掉的杯子.jpg", "mimeType": "image/jpeg",
                                          "buffer": jpeg((120, 90))}])
    expect(chat.locator(".msg.customer").last).to_contain_text("〔照片〕")
    expect(chat.locator(".msg.bot").nth(1)).to_contain_text("照片收到了")
    number = chat.locator("#case").inner_text().split()[-1]

    amy = agent_page(browser, url, "amy")
    amy.select_option("#status", "recent")
    amy.locator(".cases li", has_text=number).first.click()
    thumb = amy.locator("#v-messages img.thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_js_property("complete", True)   # no in-page eval: the console's CSP forbids it
    assert thumb.evaluate("img => img.naturalWidth") == 120          # the image really loaded
    source = thumb.get_attribute("src") or ""
    assert source.startswith("/console/files/")

    served = amy.request.get(url + source)
    assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    with pytest.raises(urllib.error.HTTPError) as refused:      # no session: nothing served
        urllib.request.urlopen(url + source, timeout=5)
    assert refused.value.code == 401


def test_a_line_photo_fetched_by_the_turn_worker_shows_in_the_console(
        desk: tuple[str, StubThread, Path], browser: Browser) -> None:
    """With workers the turn worker fetches from LINE's data host before the turn."""
    url, line, _ = desk
    line.stub.contents["555000111"] = jpeg((64, 40))
    event = line_event("image", "Ufilesbrowser0000000000000000001", "01FILESBROWSER000000000001")
    event["message"] = {"type": "image", "id": "555000111", "quoteToken": "q",
                        "contentProvider": {"type": "line"}}
    body = line_body(event)
    request = urllib.request.Request(f"{url}/webhooks/line", data=body, method="POST",
                                     headers={"X-Line-Signature": sign(body),
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    deadline = time.time() + 20                 # the acknowledgement reached the customer
    while time.time() < deadline and not any("照片收到了" in text for _, text in line.stub.received):
        time.sleep(0.1)
    assert any("照片收到了" in text for _, text in line.stub.received)
    amy = agent_page(browser, url, "amy")
    amy.select_option("#status", "recent")
    amy.locator(".cases li", has_text="line").first.click()
    thumb = amy.locator("#v-messages img.thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_js_property("complete", True)   # no in-page eval: the console's CSP forbids it
    assert thumb.evaluate("img => img.naturalWidth") == 64
    assert "555000111" in line.stub.fetched
