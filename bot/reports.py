"""The figures admins tune the dialog and the team with (`heard report`, the dashboard).

Every figure is over the cases *received* in the period. Definitions (also in
docs/reports.md):

- first response: for handed-off cases, from the handoff to the first person taking it
  (claim or reply); "within target" means by the case's first-response deadline;
- resolution rate: cases the customer called "resolved" among cases that reached an
  outcome (resolved, partly, not solved, no answer; no answer is never counted as solved);
- escalation rate: cases handed to a person; top signals: signals fired in those cases;
- secondary complaint rate: cases with the `repeated` signal (the same problem again in
  the case, or within 30 days);
- commitment fulfilment: commitments due by the end of the period that were recorded as
  kept (by an agent, or by the customer answering "resolved"), and how many on time;
- CSAT: the 1-5 ratings; follow-up answer rate: cases called back that answered.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TextIO

from bot.case import CaseState
from dialogs.model import CATEGORY_IDS, SEVERITIES
from storage.store import Store

OUTCOMES = ("resolved", "partly", "not_solved", "no_answer")


@dataclass
class Report:
    start: datetime
    end: datetime
    cases: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)   # cases per label, most first
    handed_off: int = 0
    first_response_count: int = 0
    first_response_median_min: float | None = None
    first_response_p90_min: float | None = None
    first_response_within_target: float | None = None
    with_outcome: int = 0
    resolved: int = 0
    escalated: int = 0
    top_signals: list[tuple[str, int]] = field(default_factory=list)
    secondary: int = 0
    commitments_due: int = 0
    commitments_kept: int = 0
    commitments_on_time: int = 0
    csat: dict[int, int] = field(default_factory=dict)
    called_back: int = 0
    answered: int = 0

    @property
    def resolution_rate(self) -> float | None:
        return _share(self.resolved, self.with_outcome)

    @property
    def escalation_rate(self) -> float | None:
        return _share(self.escalated, self.cases)

    @property
    def secondary_rate(self) -> float | None:
        return _share(self.secondary, self.cases)

    @property
    def fulfilment_rate(self) -> float | None:
        return _share(self.commitments_kept, self.commitments_due)

    @property
    def csat_average(self) -> float | None:
        total = sum(self.csat.values())
        return round(sum(k * v for k, v in self.csat.items()) / total, 2) if total else None

    @property
    def followup_answer_rate(self) -> float | None:
        return _share(self.answered, self.called_back)

    def rows(self) -> list[tuple[str, str, Any]]:
        """(section, metric, value) for CSV and tables."""
        out: list[tuple[str, str, Any]] = [
            ("period", "from", self.start.date().isoformat()),
            ("period", "to", (self.end - timedelta(seconds=1)).date().isoformat()),
            ("period", "time zone", getattr(self.start.tzinfo, "key", str(self.start.tzinfo))),
            ("volume", "cases", self.cases),
        ]
        out += [("category", k, v) for k, v in self.by_category.items()]
        out += [("severity", k, v) for k, v in self.by_severity.items()]
        out += [("channel", k, v) for k, v in self.by_channel.items()]
        out += [("label", k, v) for k, v in self.by_label.items()]
        out += [
            ("first response", "handed off", self.handed_off),
            ("first response", "answered by a person", self.first_response_count),
            ("first response", "median minutes", self.first_response_median_min),
            ("first response", "p90 minutes", self.first_response_p90_min),
            ("first response", "within target", self.first_response_within_target),
            ("resolution", "cases with an outcome", self.with_outcome),
            ("resolution", "resolution rate", self.resolution_rate),
            ("escalation", "escalated", self.escalated),
            ("escalation", "escalation rate", self.escalation_rate),
        ]
        out += [("top signals", name, n) for name, n in self.top_signals]
        out += [
            ("secondary complaints", "cases", self.secondary),
            ("secondary complaints", "rate", self.secondary_rate),
            ("commitments", "due", self.commitments_due),
            ("commitments", "kept", self.commitments_kept),
            ("commitments", "kept on time", self.commitments_on_time),
            ("commitments", "fulfilment rate", self.fulfilment_rate),
            ("csat", "ratings", sum(self.csat.values())),
            ("csat", "average", self.csat_average),
        ]
        out += [("csat", f"{score} stars", self.csat.get(score, 0)) for score in range(1, 6)]
        out += [
            ("follow-up", "called back", self.called_back),
            ("follow-up", "answered", self.answered),
            ("follow-up", "answer rate", self.followup_answer_rate),
        ]
        return out


DEFAULT_DAYS = 30


def period(tz: tzinfo, first: date | None, last: date | None,
           today: date) -> tuple[date, date, datetime, datetime]:
    """The report's days (both included; the default is the last 30 days up to today) and
    the [start, end) moments they cover in the dialog's time zone."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return first, last, start, end


def build_report(store: Store, start: datetime, end: datetime) -> Report:
    cases = store.cases_between(start, end)
    escalated = store.case_numbers_with_event("escalated", start, end)
    report = Report(start=start, end=end, cases=len(cases))
    report.by_category = _counts((c.category or "other" for c in cases), CATEGORY_IDS)
    report.by_severity = _counts((c.severity for c in cases), SEVERITIES)
    report.by_channel = dict(Counter(c.channel for c in cases).most_common())
    report.by_label = dict(Counter(x for c in cases for x in c.labels).most_common())
    _first_response(report, cases)
    report.with_outcome = sum(1 for c in cases if c.outcome in OUTCOMES)
    report.resolved = sum(1 for c in cases if c.outcome == "resolved")
    escalated_cases = [c for c in cases if c.number in escalated]
    report.escalated = len(escalated_cases)
    report.top_signals = Counter(name for c in escalated_cases
                                 for name in c.signal_names()).most_common(8)
    report.secondary = sum(1 for c in cases if "repeated" in c.signal_names())
    _commitments(report, cases)
    report.csat = dict(sorted(Counter(c.csat for c in cases if c.csat).items()))
    report.called_back = sum(1 for c in cases if c.followups_sent > 0)
    report.answered = sum(1 for c in cases if c.followups_sent > 0
                          and c.outcome in ("resolved", "partly", "not_solved"))
    return report


def _first_response(report: Report, cases: list[CaseState]) -> None:
    handed = [c for c in cases if c.handoff_at is not None]
    report.handed_off = len(handed)
    answered = [c for c in handed if c.claimed_at is not None]
    report.first_response_count = len(answered)
    if not answered:
        return
    minutes, within = [], 0
    for c in answered:
        if c.claimed_at is None or c.handoff_at is None:
            continue
        minutes.append((c.claimed_at - c.handoff_at).total_seconds() / 60)
        within += c.claimed_at <= c.first_response_due
    minutes.sort()
    report.first_response_median_min = round(statistics.median(minutes), 1)
    report.first_response_p90_min = round(_percentile(minutes, 0.9), 1)
    report.first_response_within_target = round(within / len(answered), 3)


def _commitments(report: Report, cases: list[CaseState]) -> None:
    due = [c for c in cases if c.commitment and c.due_at and c.due_at <= report.end]
    report.commitments_due = len(due)
    kept = [c for c in due if c.fulfilled_at is not None]
    report.commitments_kept = len(kept)
    report.commitments_on_time = sum(
        1 for c in kept if c.fulfilled_at is not None and c.due_at is not None
        and c.fulfilled_at <= c.due_at)


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ordered list."""
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


def _counts(values: Any, order: tuple[str, ...]) -> dict[str, int]:
    counted = Counter(values)
    return {key: counted[key] for key in order if counted[key]}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def write_csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(["section", "metric", "value"])
    for section, metric, value in report.rows():
        writer.writerow([section, metric, "" if value is None else value])


def write_text(report: Report, out: TextIO) -> None:
    section_now = None
    for section, metric, value in report.rows():
        if section != section_now:
            print(f"\n{section}", file=out)
            section_now = section
        shown = "-" if value is None else (f"{value:.1%}" if isinstance(value, float)
                                          and ("rate" in metric or "within" in metric)
                                          else value)
        print(f"  {metric:26} {shown}", file=out)
