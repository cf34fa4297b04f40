"""`scripts/screenshots.py` makes the README's console screenshots: real PNGs, of the
desktop and phone sizes."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from tests.browsers import needs_chromium
from tests.processes import ROOT

needs_chromium()


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is no PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_script_saves_the_console_screenshots(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "scripts/screenshots.py", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    sizes = {p.name: png_size(p) for p in tmp_path.glob("*.png")}
    assert sizes == {"console-desktop.png": (1280, 800), "console-phone-queue.png": (390, 844),
                     "console-phone-case.png": (390, 844)}
    assert all(p.stat().st_size > 10_000 for p in tmp_path.glob("*.png"))   # not blank
    for name in sizes:                          # the README shows the committed ones
        assert f"docs/screenshots/{name}" in (ROOT / "README.md").read_text(encoding="utf-8")
