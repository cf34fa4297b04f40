"""A real browser for the page tests: Playwright driving Debian's chromium.

`needs_chromium()` at the top of a test module skips it where chromium is missing (a
developer's machine) and fails it in CI (`CI` set), where the browser tests must run.
`browser` is the module-wide browser; a test module imports it as a fixture."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def needs_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs Debian's chromium for the browser tests "
                               "(.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)",
                    allow_module_level=True)
    pytest.importorskip("playwright")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        found.close()
