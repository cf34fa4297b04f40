"""Business hours: when a person can answer, and how that is promised to the customer.

Outside the team's hours (the dialog's `team.hours`, holidays included), the first-response
clock starts when the team is back, and the customer is told so ("4 hours of our opening
at 11/24 09:00"). Grades listed in `team.around_the_clock` are answered at any hour.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.model import Dialog, Team


def works_on(team: Team, day: date) -> bool:
    """A working day: one of the team's days and not a holiday."""
    return day.weekday() in team.days and day not in team.holidays


def is_open(dialog: Dialog, moment: datetime) -> bool:
    team = dialog.team
    if team is None:
        return True
    local = moment.astimezone(ZoneInfo(dialog.timezone))
    return works_on(team, local.date()) and team.opens <= local.time() < team.closes


def next_opening(dialog: Dialog, moment: datetime) -> datetime:
    """The first moment at or after `moment` when the team is at work."""
    team = dialog.team
    if team is None or is_open(dialog, moment):
        return moment
    tz = ZoneInfo(dialog.timezone)
    local = moment.astimezone(tz)
    for days in range(0, 15):
        day = (local + timedelta(days=days)).date()
        if not works_on(team, day):
            continue
        opening = datetime.combine(day, team.opens, tzinfo=tz)
        if opening >= local:
            return opening.astimezone(moment.tzinfo)
    return moment   # no working day within two weeks: promise from now rather than never


def response_deadline(dialog: Dialog, severity: str, now: datetime) -> tuple[datetime, datetime | None]:
    """When a person must answer by, and the opening it counts from (None: from now)."""
    span = dialog.grades[severity].first_response
    team = dialog.team
    if team is None or severity in team.around_the_clock or is_open(dialog, now):
        return now + span, None
    opening = next_opening(dialog, now)
    return opening + span, opening


def quiet_until(dialog: Dialog, moment: datetime) -> datetime | None:
    """Inside the follow-up quiet hours (e.g. 21:00-09:00, across midnight): when they end.
    None: not quiet now."""
    rules = dialog.followups
    tz = ZoneInfo(dialog.timezone)
    local = moment.astimezone(tz)
    start, end, now = rules.quiet_start, rules.quiet_end, local.time()
    quiet = (start <= now or now < end) if start > end else (start <= now < end)
    if not quiet:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(moment.tzinfo)
