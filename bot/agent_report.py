"""The figures team leads ask for: per agent, and the trend over the period.

Per agent, over the cases *received* in the period that the person handled (claimed, was
transferred, replied to, resolved or handed back; a case two people handled counts for
both):

- first response: from the handoff (or from when the case was transferred to them, if
  later) to the person's first reply to the customer; median in minutes;
- resolution: from the handoff to the person resolving the case; median in minutes;
- CSAT: the 1-5 ratings customers gave on those cases; mean and how many.

The trend puts the cases received in the period into buckets in the team's time zone:
one per day for a period up to 31 days, one per week (Monday to Sunday, cut at the
period's ends) for longer ones.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from bot.case import CaseState
from storage.store import Store, csv_safe

DAILY_UP_TO_DAYS = 31


@dataclass
class AgentFigures:
    agent: str
    cases: int = 0
    first_response_count: int = 0
    first_response_median_min: float | None = None
    resolved: int = 0
    resolution_median_min: float | None = None
    csat_count: int = 0
    csat_average: float | None = None

    def row(self) -> list[Any]:
        return [self.agent, self.cases, self.first_response_count,
                self.first_response_median_min, self.resolved, self.resolution_median_min,
                self.csat_count, self.csat_average]


AGENT_COLUMNS = ["agent", "cases handled", "first responses", "first response median (min)",
                 "resolved", "resolution median (min)", "CSAT ratings", "CSAT average"]


@dataclass
class _Work:
    cases: set[str] = field(default_factory=set)
    since: dict[str, datetime] = field(default_factory=dict)      # when the case became theirs
    first_replies: dict[str, float] = field(default_factory=dict)
    resolutions: dict[str, float] = field(default_factory=dict)


@dataclass
class PeriodRecords:
    """What both tables are computed from, read once: the cases received in [start, end)
    and what people did on them."""

    start: datetime
    end: datetime
    cases: list[CaseState]
    events: list[dict[str, Any]]

    @classmethod
    def read(cls, store: Store, start: datetime, end: datetime) -> PeriodRecords:
        return cls(start, end, store.cases_between(start, end), store.person_events(start, end))


def agent_figures(records: PeriodRecords) -> list[AgentFigures]:
    """One row per person who handled a case received in the period, by most cases."""
    cases = {c.number: c for c in records.cases}
    work: dict[str, _Work] = defaultdict(_Work)
    for event in records.events:
        case = cases.get(event["case"])
        if case is not None:
            _count(work, case, event["kind"], event["data"], event["at"])
    figures = [_figures(name, done, cases) for name, done in work.items()]
    return sorted(figures, key=lambda f: (-f.cases, f.agent))


def _count(work: dict[str, _Work], case: CaseState, kind: str, data: dict[str, Any],
           at: datetime) -> None:
    agent = str(data.get("agent") or "")
    if kind == "transferred":
        to = str(data.get("to") or "")
        if to:
            work[to].cases.add(case.number)
            work[to].since.setdefault(case.number, at)
    if not agent:
        return
    mine = work[agent]
    mine.cases.add(case.number)
    handoff = case.handoff_at or case.received_at
    if kind == "agent_reply" and case.number not in mine.first_replies:
        since = max(handoff, mine.since.get(case.number, handoff))
        mine.first_replies[case.number] = _minutes(at - since)
    elif kind == "resolved" and case.number not in mine.resolutions:
        mine.resolutions[case.number] = _minutes(at - handoff)


def _figures(name: str, done: _Work, cases: dict[str, CaseState]) -> AgentFigures:
    ratings = [c.csat for n in done.cases if (c := cases[n]).csat]
    return AgentFigures(
        agent=name, cases=len(done.cases),
        first_response_count=len(done.first_replies),
        first_response_median_min=_median(done.first_replies.values()),
        resolved=len(done.resolutions),
        resolution_median_min=_median(done.resolutions.values()),
        csat_count=len(ratings),
        csat_average=round(statistics.fmean(ratings), 2) if ratings else None)


@dataclass
class Bucket:
    first: datetime          # the bucket's first moment (team's time zone)
    last_day: datetime       # its last day (included)
    cases: int = 0
    handed_off: int = 0
    resolved: int = 0
    first_response_median_min: float | None = None
    csat_count: int = 0
    csat_average: float | None = None

    @property
    def label(self) -> str:
        if self.first.date() == self.last_day.date():
            return f"{self.first:%m-%d}"
        return f"{self.first:%m-%d}–{self.last_day:%m-%d}"

    def row(self) -> list[Any]:
        return [self.first.date().isoformat(), self.last_day.date().isoformat(), self.cases,
                self.handed_off, self.first_response_median_min, self.resolved,
                self.csat_count, self.csat_average]


TREND_COLUMNS = ["from", "to", "cases", "handed off", "first response median (min)",
                 "resolved", "CSAT ratings", "CSAT average"]


def trend_step(start: datetime, end: datetime) -> str:
    """"day" for a period up to 31 days, else "week"."""
    return "day" if (end - start) <= timedelta(days=DAILY_UP_TO_DAYS, hours=1) else "week"


def buckets(start: datetime, end: datetime) -> list[Bucket]:
    """The period cut into days or weeks (weeks start on Monday), in the period's zone."""
    tz, out = start.tzinfo, list[Bucket]()
    weekly = trend_step(start, end) == "week"
    day = start.date()
    while True:
        first = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        if first >= end:
            return out
        span = 7 - day.weekday() if weekly else 1
        last = min(day + timedelta(days=span - 1), (end - timedelta(seconds=1)).date())
        out.append(Bucket(first=first, last_day=datetime.combine(last, first.time(), tzinfo=tz)))
        day = last + timedelta(days=1)


def trend(records: PeriodRecords) -> list[Bucket]:
    start = records.start
    found = buckets(start, records.end)
    by_bucket: dict[int, list[CaseState]] = defaultdict(list)
    for case in records.cases:
        received = case.received_at.astimezone(start.tzinfo)
        index = max(i for i, b in enumerate(found) if b.first <= received)
        by_bucket[index].append(case)
    taken = _first_taken(records.events)
    for index, cases in by_bucket.items():
        _fill(found[index], cases, taken)
    return found


def _first_taken(events: list[dict[str, Any]]) -> dict[str, datetime]:
    """When a person first took each case (claim or reply); a later transfer does not
    move it."""
    taken: dict[str, datetime] = {}
    for event in events:
        if event["kind"] in ("claimed", "agent_reply"):
            taken.setdefault(event["case"], event["at"])
    return taken


def _fill(bucket: Bucket, cases: list[CaseState], taken: dict[str, datetime]) -> None:
    bucket.cases = len(cases)
    bucket.handed_off = sum(1 for c in cases if c.handoff_at is not None)
    bucket.resolved = sum(1 for c in cases if c.outcome == "resolved")
    waits = [_minutes(taken[c.number] - c.handoff_at) for c in cases
             if c.number in taken and c.handoff_at is not None]
    bucket.first_response_median_min = _median(waits)
    ratings = [c.csat for c in cases if c.csat]
    bucket.csat_count = len(ratings)
    bucket.csat_average = round(statistics.fmean(ratings), 2) if ratings else None


def _minutes(span: timedelta) -> float:
    return max(0.0, span.total_seconds() / 60)


def _median(values: Any) -> float | None:
    found = list(values)
    return round(statistics.median(found), 1) if found else None


def write_agents_csv(figures: list[AgentFigures], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(AGENT_COLUMNS)
    for f in figures:
        writer.writerow([csv_safe(v) for v in f.row()])


def write_trend_csv(found: list[Bucket], out: TextIO, zone: str) -> None:
    """Days are the team's (`zone`, named in its own column)."""
    writer = csv.writer(out)
    writer.writerow([*TREND_COLUMNS, "time zone"])
    for b in found:
        writer.writerow([*("" if v is None else v for v in b.row()), zone])


def write_agents_text(figures: list[AgentFigures], out: TextIO) -> None:
    print("\nper agent", file=out)
    if not figures:
        print("  nobody handled a case in this period", file=out)
        return
    print(f"  {'agent':16} {'cases':>5} {'1st reply min':>13} {'resolved':>8} "
          f"{'resolve min':>11} {'CSAT':>9}", file=out)
    for f in figures:
        csat = f"{f.csat_average} ({f.csat_count})" if f.csat_count else "-"
        print(f"  {f.agent:16} {f.cases:5} {_shown(f.first_response_median_min):>13} "
              f"{f.resolved:8} {_shown(f.resolution_median_min):>11} {csat:>9}", file=out)


def write_trend_text(found: list[Bucket], step: str, out: TextIO) -> None:
    print(f"\ntrend (per {step})", file=out)
    print(f"  {'':13} {'cases':>5} {'handed off':>10} {'1st reply min':>13} {'resolved':>8} "
          f"{'CSAT':>9}", file=out)
    for b in found:
        csat = f"{b.csat_average} ({b.csat_count})" if b.csat_count else "-"
        print(f"  {b.label:13} {b.cases:5} {b.handed_off:10} "
              f"{_shown(b.first_response_median_min):>13} {b.resolved:8} {csat:>9}", file=out)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
