"""`heard report` against a generated history whose figures are known."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.case import CaseState, SignalHit
from bot.cli import main
from bot.reports import build_report
from storage.store import Store

TZ = ZoneInfo("Asia/Taipei")
NOV = datetime(2026, 11, 1, tzinfo=TZ)
DEC = datetime(2026, 12, 1, tzinfo=TZ)


def hit(name: str) -> SignalHit:
    return SignalHit(name, 1.0, (name,))


def history(path: Path) -> None:
    """20 cases in November (and 2 in October that must not count)."""
    store = Store.open(path)
    categories = ["product"] * 8 + ["logistics"] * 6 + ["billing"] * 4 + ["service"] * 2
    channels = ["line"] * 10 + ["telegram"] * 6 + ["web"] * 4
    severities = ["urgent"] * 2 + ["high"] * 4 + ["standard"] * 14
    outcomes = ["resolved"] * 6 + ["partly"] * 2 + ["not_solved", "no_answer"] + [None] * 10
    ratings = [5, 5, 4, 3, 5, 2] + [None] * 14
    waits = [10, 20, 30, 40, 300]                       # minutes to the first person
    escalation_signals = [["threat", "anger"], ["threat"], ["threat"], ["human_request"],
                          ["human_request"]]
    with store.transaction():
        for i in range(20):
            at = NOV + timedelta(days=i, hours=3)
            case = CaseState(
                number=f"2026CS{i + 1:06d}", conversation_key=f"{channels[i]}:u{i}",
                channel=channels[i], customer_name=None, locale="zh-TW", stage="committed",
                received_at=at, updated_at=at, first_response_due=at + timedelta(hours=1),
                severity=severities[i], category=categories[i], outcome=outcomes[i],
                csat=ratings[i], followups_sent=1 if outcomes[i] else 0)
            if i < 5:
                case.handoff_at = at
                case.claimed_at = at + timedelta(minutes=waits[i])
                case.signals = [hit(name) for name in escalation_signals[i]]
                store.add_event(case.number, "escalated", {"reason": "risk"}, at)
            if i in (7, 8, 9):
                case.signals.append(hit("repeated"))
            if i >= 10:                                  # ten commitments due in November
                case.commitment, case.due_at = "今天寄出", at + timedelta(days=1)
                if i < 17:                               # seven kept, five of them on time
                    late = timedelta(hours=30) if i >= 15 else timedelta(hours=5)
                    case.fulfilled_at = at + late
            store.save_case(case)
        for i in range(2):
            at = datetime(2026, 10, 10 + i, tzinfo=TZ)
            store.save_case(CaseState(f"2026CS9{i:05d}", f"line:old{i}", "line", None, "zh-TW",
                                      "closed", at, at, at, category="product",
                                      outcome="resolved", csat=1))
    store.close()


def test_the_figures_match_the_generated_history(tmp_path: Path) -> None:
    history(tmp_path / "r.db")
    store = Store.open(tmp_path / "r.db")
    report = build_report(store, NOV, DEC)
    store.close()
    assert report.cases == 20
    assert report.by_category == {"product": 8, "logistics": 6, "service": 2, "billing": 4}
    assert report.by_severity == {"urgent": 2, "high": 4, "standard": 14}
    assert report.by_channel == {"line": 10, "telegram": 6, "web": 4}
    assert report.handed_off == 5 and report.first_response_count == 5
    assert report.first_response_median_min == 30 and report.first_response_p90_min == 300
    assert report.first_response_within_target == 0.8
    assert report.with_outcome == 10 and report.resolution_rate == 0.6
    assert report.escalated == 5 and report.escalation_rate == 0.25
    assert report.top_signals[:2] == [("threat", 3), ("human_request", 2)]
    assert report.secondary == 3 and report.secondary_rate == 0.15
    assert (report.commitments_due, report.commitments_kept, report.commitments_on_time) == (
        10, 7, 5)
    assert report.fulfilment_rate == 0.7
    assert report.csat == {2: 1, 3: 1, 4: 1, 5: 3} and report.csat_average == 4.0
    assert report.called_back == 10 and report.answered == 9
    assert report.followup_answer_rate == 0.9


def test_heard_report_prints_csv_for_a_period(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    history(tmp_path / "r.db")
    code = main(["report", "--from", "2026-11-01", "--to", "2026-11-30", "--csv",
                 "--db", str(tmp_path / "r.db")])
    out = capsys.readouterr().out
    rows = {(r["section"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(out))}
    assert code == 0
    assert rows[("volume", "cases")] == "20"
    assert rows[("csat", "average")] == "4.0"
    assert rows[("resolution", "resolution rate")] == "0.6"
    code = main(["report", "--from", "2026-10-01", "--to", "2026-10-31", "--csv",
                 "--db", str(tmp_path / "r.db")])
    rows = {(r["section"], r["metric"]): r["value"]
            for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[("volume", "cases")] == "2" and rows[("csat", "1 stars")] == "2"
