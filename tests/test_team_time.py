"""Times in the CLI and the exports are the team's: the dialog's zone, ISO 8601 with its
offset, and the zone named (a heading in text, a `time_zone` column in CSV)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.case import CaseState
from bot.cli import main
from storage.store import Store

# 06:05 UTC is 14:05 in Taipei (the shipped dialog's zone)
RECEIVED = datetime(2026, 11, 24, 6, 5, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "records.db"
    store = Store.open(path)
    with store.transaction():
        store.save_case(CaseState("2026CS000001", "line:U1", "line", None, "zh-TW", "committed",
                                  RECEIVED, RECEIVED, RECEIVED + timedelta(hours=1),
                                  summary="吹風機壞了", due_at=RECEIVED + timedelta(days=1)))
        store.add_message("2026CS000001", "line:U1", "line", "in", RECEIVED, text="吹風機壞了")
        store.add_event("2026CS000001", "opened", {}, RECEIVED)
    store.close()
    return path


def test_cases_list_and_show_use_the_teams_zone(db: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cases", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "times in Asia/Taipei" in out.splitlines()[0]
    assert "2026-11-24T14:05+08:00" in out
    assert main(["cases", "show", "2026CS000001", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "received_at        2026-11-24T14:05+08:00" in out
    assert "due_at             2026-11-25T14:05+08:00" in out
    assert "time zone          Asia/Taipei" in out
    assert "  2026-11-24T14:05+08:00 customer" in out          # the conversation's times too


def test_the_export_writes_times_with_the_offset_and_names_the_zone(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cases", "export", "--db", str(db)]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["received_at"] == "2026-11-24T14:05:00+08:00"
    assert row["due_at"] == "2026-11-25T14:05:00+08:00"
    assert row["followup_at"] == "" and row["time_zone"] == "Asia/Taipei"


def test_the_report_names_the_zone(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    period = ["--from", "2026-11-01", "--to", "2026-11-30", "--db", str(db)]
    assert main(["report", *period, "--csv"]) == 0
    rows = {(r["section"], r["metric"]): r["value"]
            for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[("period", "time zone")] == "Asia/Taipei"
    assert main(["report", *period]) == 0
    assert capsys.readouterr().out.startswith("Heard report 2026-11-01 – 2026-11-30 (Asia/Taipei)")
