"""Promised times: when a promise is due, when a follow-up is really sent, and how both
are said to a customer.

A person promises "by end of day tomorrow" or "around 10 tomorrow morning", never
"11/26 03:24"; and never a time the team is not at work to keep. Everything here is pure:
the clock is passed in, the dialog gives the time zone, the team's hours and the
follow-up quiet hours (bot/hours.py). Week day and month names come from Babel's CLDR data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta

from bot.hours import is_open, quiet_until, works_on
from dialogs.model import Dialog, Team

HOUR, HALF, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=30), timedelta(minutes=1), timedelta(days=1)
SHORT = timedelta(hours=12)      # a promise shorter than this may end inside the day's hours
LOOKAHEAD = 15                   # days searched for a working day before giving up


# --- when ---------------------------------------------------------------------------

def promise_due(dialog: Dialog, start: datetime, span: timedelta) -> datetime:
    """When a promise made at `start` that takes `span` is due: a short one ending inside
    business hours at the next half hour, anything else at a working day's closing time;
    never before `start + span`."""
    tz = ZoneInfo(dialog.timezone)
    end = (start + span).astimezone(tz)
    team = dialog.team
    if team is None:
        return _ceil(end, HOUR).astimezone(start.tzinfo)
    if span < SHORT and is_open(dialog, end):
        return min(_ceil(end, HALF), _closing(team, end.date(), tz)).astimezone(start.tzinfo)
    day = end.date()
    if works_on(team, day) and end <= _closing(team, day, tz):
        return _closing(team, day, tz).astimezone(start.tzinfo)
    for n in range(1, LOOKAHEAD):
        if works_on(team, day + timedelta(days=n)):
            return _closing(team, day + timedelta(days=n), tz).astimezone(start.tzinfo)
    return _ceil(end, HOUR).astimezone(start.tzinfo)   # nobody ever works: keep the bare span


def contact_time(dialog: Dialog, moment: datetime) -> datetime:
    """When a follow-up planned for `moment` is really sent: the first moment from then on
    outside the quiet hours, on a day the team works (with a team; any day without)."""
    tz = ZoneInfo(dialog.timezone)
    at = moment.astimezone(tz)
    for _ in range(LOOKAHEAD):
        at = quiet_until(dialog, at) or at
        if dialog.team is None or works_on(dialog.team, at.date()):
            return at.astimezone(moment.tzinfo)
        at = datetime.combine(at.date() + DAY, time(0), tzinfo=tz)
    return quiet_until(dialog, moment) or moment


def _closing(team: Team, day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, team.closes, tzinfo=tz)


def _ceil(local: datetime, step: timedelta) -> datetime:
    """Round a wall-clock time up to the next multiple of `step` (from midnight)."""
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + -(-(local - midnight) // step) * step


def _nearest(local: datetime, step: timedelta) -> datetime:
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + math.floor((local - midnight) / step + 0.5) * step


# --- how it is said --------------------------------------------------------------------

def deadline_text(dialog: Dialog, moment: datetime, now: datetime, locale: str) -> str:
    """A deadline as a person says it: "明天（11/25，週三）中午 12 點前", "by end of day
    today (Tue 24 Nov)". Rounded up to the half hour, so it is never earlier than `moment`."""
    tz = ZoneInfo(dialog.timezone)
    local = moment.astimezone(tz)
    team = dialog.team
    closing = team is not None and local.time() == team.closes and works_on(team, local.date())
    at = local if closing else _ceil(local, HALF)
    return _phrases(locale).deadline(at, now.astimezone(tz).date(), closing)


def time_text(dialog: Dialog, moment: datetime, now: datetime, locale: str) -> str:
    """An approximate moment (a follow-up, a call-back): "明天（11/25，週三）上午 10 點左右",
    "tomorrow (Wed 25 Nov), around 10 a.m."; to the nearest half hour."""
    tz = ZoneInfo(dialog.timezone)
    at = _nearest(moment.astimezone(tz), HALF)
    return _phrases(locale).around(at, now.astimezone(tz).date())


def duration_text(span: timedelta, locale: str) -> str:
    """"1 hour", "24 hours", "2 days", "30 minutes", "1 小時": whole days from two days
    up, else hours, else minutes (rounded up to the minute)."""
    minutes = max(0, math.ceil(span / MINUTE))
    if minutes >= 2 * 1440 and minutes % 1440 == 0:
        parts = [(minutes // 1440, "day")]
    elif minutes < 60 or minutes % 60 == 0:
        parts = [(minutes // 60, "hour")] if minutes >= 60 else [(minutes, "minute")]
    else:
        parts = [(minutes // 60, "hour"), (minutes % 60, "minute")]
    return _phrases(locale).duration(parts)


class _Phrases(Protocol):
    def deadline(self, at: datetime, today: date, closing: bool) -> str: ...
    def around(self, at: datetime, today: date) -> str: ...
    def duration(self, parts: list[tuple[int, str]]) -> str: ...


def _wall(at: datetime) -> tuple[date, int]:
    """The day and the minute of the day as people say it: midnight is the end (24:00) of
    the day before, so "by midnight today" means the day the customer is living."""
    minute = at.hour * 60 + at.minute
    return (at.date() - DAY, 1440) if minute == 0 else (at.date(), minute)


@lru_cache(maxsize=1024)
def _day_format(day: date, pattern: str, locale: str) -> str:
    """Babel's day names, remembered: formatting costs more than the rest of a turn's
    reply, and a turn only ever names a few days."""
    return format_date(day, pattern, locale=locale)


# Chinese day parts by the hour they run up to: 凌晨 0–5, 上午 6–11, 中午 12, 下午 13–17, 晚上 18–24.
_ZH_PARTS = ((6, "凌晨"), (12, "上午"), (13, "中午"), (18, "下午"), (25, "晚上"))


@dataclass(frozen=True, slots=True)
class _Chinese:
    babel: str                          # the Babel locale for week day names
    near: tuple[str, str, str]          # today, tomorrow, the day after
    hour: str                           # 點 / 点
    units: dict[str, str]               # day / hour / minute
    closing: str = "下班前"

    def clock(self, minute: int) -> str:
        hour, half = divmod(minute, 60)
        part = next(name for bound, name in _ZH_PARTS if hour < bound)
        return f"{part} {hour % 12 or 12} {self.hour}{'半' if half else ''}"

    def day(self, day: date, today: date) -> str:
        offset = (day - today).days
        weekday = _day_format(day, "EEE", self.babel)
        if 0 <= offset < len(self.near):
            return f"{self.near[offset]}（{day.month}/{day.day}，{weekday}）"
        return f"{day.month}/{day.day}（{weekday}）"

    def deadline(self, at: datetime, today: date, closing: bool) -> str:
        if closing:
            return self.day(at.date(), today) + self.closing
        day, minute = _wall(at)
        return f"{self.day(day, today)}{self.clock(minute)}前"

    def around(self, at: datetime, today: date) -> str:
        day, minute = _wall(at)
        return f"{self.day(day, today)}{self.clock(minute)}左右"

    def duration(self, parts: list[tuple[int, str]]) -> str:
        return " ".join(f"{n} {self.units[unit]}" for n, unit in parts)


@dataclass(frozen=True, slots=True)
class _English:
    babel: str = "en"

    @staticmethod
    def clock(minute: int) -> str:
        hour, half = divmod(minute, 60)
        if hour == 24:
            return "midnight"
        if hour == 12 and not half:
            return "noon"
        return f"{hour % 12 or 12}{'.30' if half else ''} {'a.m.' if hour < 12 else 'p.m.'}"

    def short(self, day: date) -> str:
        return _day_format(day, "EEE d MMM", self.babel)       # Tue 24 Nov

    def long(self, day: date) -> str:
        return _day_format(day, "EEEE d MMM", self.babel)      # Friday 27 Nov

    def deadline(self, at: datetime, today: date, closing: bool) -> str:
        if closing:
            if at.date() == today:
                return f"by end of day today ({self.short(today)})"
            return f"by {self.long(at.date())}, end of day"
        day, minute = _wall(at)
        near = {0: "today", 1: "tomorrow"}.get((day - today).days)
        if near:
            return f"by {self.clock(minute)} {near} ({self.short(day)})"
        return f"by {self.clock(minute)} on {self.long(day)}"

    def around(self, at: datetime, today: date) -> str:
        day, minute = _wall(at)
        near = {0: "today", 1: "tomorrow"}.get((day - today).days)
        when = f"{near} ({self.short(day)})" if near else self.long(day)
        return f"{when}, around {self.clock(minute)}"

    def duration(self, parts: list[tuple[int, str]]) -> str:
        return _babel_duration(parts, self.babel)


@dataclass(frozen=True, slots=True)
class _Medium:
    """Any other locale: Babel's medium date with the short time, in that locale's order."""

    locale: Locale

    def moment(self, at: datetime) -> str:
        pattern = str(self.locale.datetime_formats["medium"])
        return pattern.format(format_time(at, "short", locale=self.locale),
                              format_date(at, "medium", locale=self.locale))

    def deadline(self, at: datetime, today: date, closing: bool) -> str:
        return self.moment(at)

    def around(self, at: datetime, today: date) -> str:
        return self.moment(at)

    def duration(self, parts: list[tuple[int, str]]) -> str:
        return _babel_duration(parts, self.locale)


def _babel_duration(parts: list[tuple[int, str]], locale: Locale | str) -> str:
    # A threshold of n keeps Babel in the unit given ("24 hours", not "1 day").
    seconds = {"day": 86400, "hour": 3600, "minute": 60}
    return " ".join(format_timedelta(timedelta(seconds=n * seconds[unit]), threshold=max(n, 1),
                                     locale=locale) for n, unit in parts)


PHRASES: dict[str, _Phrases] = {
    "zh-TW": _Chinese("zh_Hant_TW", ("今天", "明天", "後天"), "點",
                      {"day": "天", "hour": "小時", "minute": "分鐘"}),
    "zh-CN": _Chinese("zh_Hans_CN", ("今天", "明天", "后天"), "点",
                      {"day": "天", "hour": "小时", "minute": "分钟"}),
    "en": _English(),
}


@lru_cache(maxsize=64)
def _phrases(locale: str) -> _Phrases:
    if locale in PHRASES:
        return PHRASES[locale]
    try:
        return _Medium(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return PHRASES["en"]
