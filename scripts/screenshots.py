"""Screenshots of the agent console for the README.

Starts Heard on a temporary records file (the LINE and Telegram stubs stand in for the
platforms: nothing reaches the internet), has a few customers write in through the real
webhooks and web chat, signs an agent in with Playwright (Debian's chromium) and saves:

- console-desktop.png: the queue and a case (1280 x 800)
- console-phone-queue.png, console-phone-case.png: the phone layout (390 x 844)

Chinese text needs a CJK font in the browser's system (Debian: fonts-noto-cjk); without
one the pictures show boxes, though their sizes are right.

    python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desk_harness import PASSWORD, desk, line_says, telegram_says  # noqa: E402

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = ("console-desktop.png", "console-phone-queue.png", "console-phone-case.png")


def web_chat_says(url: str, text: str) -> None:
    body = json.dumps({"text": text, "language": "zh-TW"}, ensure_ascii=False).encode()
    request = urllib.request.Request(f"{url}/chat/api/messages", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        response.read()


def fill(url: str) -> None:
    """A few customers, as a morning at the desk might look."""
    telegram_says(url, 8100001, "美玲", "陳", "我買的吹風機用一次就壞了，再不處理我就找消保官")
    telegram_says(url, 8100002, "志明", "張", "包裹等了一個禮拜還沒到，我要找真人客服")
    line_says(url, "Ushots000000000000000000000000003", "熱水壺漏電，我被電到了，請馬上處理")
    web_chat_says(url, "上個月的訂閱被重複扣款兩次，我要找專人")
    telegram_says(url, 8100001, "美玲", "陳", "請問新的吹風機什麼時候可以寄出？")


def take(url: str, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        saved = []
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, is_mobile=name == "phone",
                                          device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{url}/console")
            page.fill("input[name=username]", "amy")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#live")).to_have_class("live on")
            item = page.locator(".cases li", has_text="美玲")
            expect(item).to_be_visible()
            if name == "phone":
                saved.append(out / "console-phone-queue.png")
                page.screenshot(path=saved[-1])
            item.click()
            expect(page.locator("#c-facts")).to_contain_text("美玲")
            if name == "desktop":
                page.click("#a-claim")
                expect(page.locator("#a-status")).to_contain_text("已接手")
                page.fill("#a-text", "美玲您好，我是 Amy，新的吹風機今天下午寄出，明天就會到。")
                page.click("#a-reply")
                expect(page.locator("#a-status")).to_have_text("已送出回覆")
                page.evaluate("window.scrollTo(0, 0)")
            saved.append(out / f"console-{name}{'-case' if name == 'phone' else ''}.png")
            page.screenshot(path=saved[-1])
            context.close()
        browser.close()
    return saved


def _has_cjk_font() -> bool:
    try:
        found = subprocess.run(["fc-list", ":lang=zh-tw"], capture_output=True, text=True,
                               timeout=30)
    except (OSError, subprocess.SubprocessError):
        return True     # cannot tell: say nothing
    return bool(found.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    if not _has_cjk_font():
        print("warning: no CJK font found (Debian: apt-get install fonts-noto-cjk); "
              "Chinese text will show as boxes", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder, desk(Path(folder)) as (url, _stubs):
        fill(url)
        for path in take(url, args.out, args.chromium):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
