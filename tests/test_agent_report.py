"""Per-agent figures and the trend, from a store filled through real turns (customers
write, people claim, reply, transfer and resolve, customers answer the follow-up and
rate) on a virtual clock; `heard report` shows and exports them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import agents
from bot.agent_report import PeriodRecords, agent_figures, buckets, trend
from bot.case import CaseState
from bot.cli import main
from bot.context import Context
from bot.reports import build_report
from bot.turns import handle_incoming, run_due
from bot.types import Incoming
from dialogs.model import Dialog
from storage.store import Store

TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY_10 = datetime(2026, 11, 2, 10, 0, tzinfo=TAIPEI)
NOV = datetime(2026, 11, 1, tzinfo=TAIPEI)
DEC = datetime(2026, 12, 1, tzinfo=TAIPEI)


class Desk:
    """Customers and people on one store, one virtual clock."""

    def __init__(self, dialog: Dialog, path: Path | str = ":memory:") -> None:
        self.store, self.dialog, self.n = Store.open(path), dialog, 0

    def says(self, user: str, at: datetime, text: str = "", payload: str | None = None) -> None:
        self.n += 1
        incoming = Incoming("line", user, f"e{self.n}", at, text=text, payload=payload)
        with self.store.transaction():
            handle_incoming(self.store, self.dialog, incoming, at)

    def act(self, user: str, at: datetime, action: str, agent: str, **args: object) -> CaseState:
        case = self.store.latest_case(f"line:{user}")
        assert case is not None
        ctx = Context(dialog=self.dialog, now=at,
                      new_case_number=lambda: self.store.next_case_number(2026))
        step = getattr(agents, action)(case, agent, ctx=ctx, **args)
        with self.store.transaction():
            self.store.apply(step, None, at)
        assert step.case is not None
        return step.case

    def follow_up(self, user: str, rating: int | None) -> None:
        """The call back comes; the customer says it is solved and (maybe) rates it."""
        case = self.store.latest_case(f"line:{user}")
        assert case is not None and case.followup_at is not None
        at = case.followup_at + timedelta(minutes=1)
        with self.store.transaction():
            run_due(self.store, self.dialog, at)
        self.says(user, at + timedelta(minutes=1), payload="fu:resolved")
        if rating is not None:
            self.says(user, at + timedelta(minutes=2), payload=f"rate:{rating}")


def minutes(start: datetime, n: float) -> datetime:
    return start + timedelta(minutes=n)


@pytest.fixture
def desk(dialog: Dialog) -> Desk:
    """Three handed-off cases on three days:
    U1 (Mon): amy claims at +5, replies at +10, resolves at +60; rated 5.
    U2 (Tue): amy claims +20, replies +30, transfers to ben +40; ben replies +55, resolves
              +120; rated 3.
    U3 (Wed): ben replies at +15 (which claims it), resolves at +45; not rated.
    """
    d = Desk(dialog)
    script = [("U1", 0, [(5, "claim", "amy", {}), (10, "reply", "amy", {"text": "您好，我是 Amy"}),
                         (60, "resolve", "amy", {})], 5),
              ("U2", 1, [(20, "claim", "amy", {}), (30, "reply", "amy", {"text": "我來處理"}),
                         (40, "transfer", "amy", {"to_agent": "ben"}),
                         (55, "reply", "ben", {"text": "我是 Ben，接手了"}),
                         (120, "resolve", "ben", {})], 3),
              ("U3", 2, [(15, "reply", "ben", {"text": "您好"}), (45, "resolve", "ben", {})], None)]
    for user, day, actions, rating in script:
        start = MONDAY_10 + timedelta(days=day)
        d.says(user, start, "我要找真人客服")
        case = d.store.latest_case(f"line:{user}")
        assert case is not None and case.stage == "handoff" and case.handoff_at == start
        for offset, action, agent, args in actions:
            d.act(user, minutes(start, offset), action, agent, **args)
        d.follow_up(user, rating)
    return d


def test_per_agent_figures_follow_what_people_did(desk: Desk) -> None:
    amy, ben = sorted(agent_figures(PeriodRecords.read(desk.store, NOV, DEC)), key=lambda f: f.agent)
    assert (amy.agent, amy.cases, amy.first_response_count) == ("amy", 2, 2)
    assert amy.first_response_median_min == 20            # 10 and 30 minutes
    assert (amy.resolved, amy.resolution_median_min) == (1, 60)
    assert (amy.csat_count, amy.csat_average) == (2, 4.0)     # 5 and 3
    assert (ben.agent, ben.cases, ben.first_response_count) == ("ben", 2, 2)
    assert ben.first_response_median_min == 15            # from the transfer; and 15
    assert (ben.resolved, ben.resolution_median_min) == (2, 82.5)   # 120 and 45
    assert (ben.csat_count, ben.csat_average) == (1, 3.0)
    assert agent_figures(PeriodRecords.read(desk.store, DEC, DEC + timedelta(days=30))) == []


def test_the_teams_first_response_is_the_first_claim_not_a_later_transfer(desk: Desk) -> None:
    report = build_report(desk.store, NOV, DEC)
    assert report.first_response_count == 3
    assert report.first_response_median_min == 15         # 5, 20 (amy's claim) and 15
    assert report.first_response_p90_min == 20            # not 40, when ben took it over


def test_the_trend_counts_each_day_in_the_teams_zone(desk: Desk) -> None:
    days = trend(PeriodRecords.read(desk.store, NOV, DEC))
    assert len(days) == 30 and days[0].label == "11-01" and days[-1].label == "11-30"
    assert [(b.label, b.cases, b.handed_off, b.resolved) for b in days if b.cases] == [
        ("11-02", 1, 1, 1), ("11-03", 1, 1, 1), ("11-04", 1, 1, 1)]
    assert [b.csat_average for b in days if b.cases] == [5.0, 3.0, None]
    assert [b.first_response_median_min for b in days if b.cases] == [5, 20, 15]


def test_a_quarter_is_cut_into_weeks_from_monday(desk: Desk) -> None:
    quarter = buckets(datetime(2026, 10, 1, tzinfo=TAIPEI), datetime(2027, 1, 1, tzinfo=TAIPEI))
    assert len(quarter) == 14
    assert (quarter[0].label, quarter[1].label, quarter[-1].label) == (
        "10-01–10-04", "10-05–10-11", "12-28–12-31")
    assert all(b.first.weekday() == 0 for b in quarter[1:])
    weeks = trend(PeriodRecords.read(desk.store, datetime(2026, 10, 1, tzinfo=TAIPEI),
                                     datetime(2027, 1, 1, tzinfo=TAIPEI)))
    assert [(b.label, b.cases) for b in weeks if b.cases] == [("11-02–11-08", 3)]


def test_a_case_just_after_midnight_in_taipei_is_that_days(dialog: Dialog) -> None:
    d = Desk(dialog)
    late = datetime(2026, 11, 2, 23, 50, tzinfo=TAIPEI)
    d.says("U8", late, "我要找真人客服")
    d.says("U9", late + timedelta(minutes=20), "我要找真人客服")      # 00:10 on the 3rd
    days = trend(PeriodRecords.read(d.store, NOV, DEC))
    assert [(b.label, b.cases) for b in days if b.cases] == [("11-02", 1), ("11-03", 1)]


def test_heard_report_prints_the_tables_and_exports_them(
        dialog: Dialog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    desk = Desk(dialog, db)
    desk.says("U1", MONDAY_10, "我要找真人客服")
    desk.act("U1", minutes(MONDAY_10, 8), "reply", "amy", text="您好")
    desk.act("U1", minutes(MONDAY_10, 30), "resolve", "amy")
    desk.follow_up("U1", 4)
    desk.store.close()
    period = ["--from", "2026-11-01", "--to", "2026-11-30", "--db", str(db)]
    assert main(["report", *period]) == 0
    out = capsys.readouterr().out
    assert "(Asia/Taipei)" in out.splitlines()[0]
    agent_line = next(line for line in out.splitlines() if line.strip().startswith("amy"))
    assert agent_line.split() == ["amy", "1", "8", "1", "30", "4.0", "(1)"]
    assert "trend (per day)" in out
    assert main(["report", *period, "--csv", "agents"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"agent": "amy", "cases handled": "1", "first responses": "1",
                     "first response median (min)": "8.0", "resolved": "1",
                     "resolution median (min)": "30.0", "CSAT ratings": "1",
                     "CSAT average": "4.0"}]
    assert main(["report", *period, "--csv", "trend"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 30 and {r["time zone"] for r in rows} == {"Asia/Taipei"}
    assert [(r["from"], r["cases"]) for r in rows if r["cases"] != "0"] == [("2026-11-02", "1")]
    assert main(["report", *period, "--csv"]) == 0
    assert "section,metric,value" in capsys.readouterr().out
    assert main(["report", "--from", "2026-11-30", "--to", "2026-11-01", "--db", str(db)]) == 2
    assert "is after" in capsys.readouterr().err
