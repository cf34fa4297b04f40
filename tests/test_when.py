"""Promised times: due times a person would promise, follow-ups sent when the customer was
told, and the words for both in zh-TW, zh-CN, en and any other locale.

The shipped dialog's team works Monday to Saturday, 09:00-21:00 Taipei time, with the
2026 public holidays off; follow-ups are quiet from 21:00 to 09:00. 2026-11-23 is a Monday.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.hours import is_open, quiet_until, works_on
from bot.when import contact_time, deadline_text, duration_text, promise_due, time_text
from dialogs.model import Dialog
from tests.test_handoff import Chat

TPE = ZoneInfo("Asia/Taipei")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TPE)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def with_holiday(dialog: Dialog, *days: date) -> Dialog:
    assert dialog.team is not None
    team = dataclasses.replace(dialog.team, holidays=dialog.team.holidays | frozenset(days))
    return dataclasses.replace(dialog, team=team)


def weekdays_only(dialog: Dialog) -> Dialog:
    assert dialog.team is not None
    return dataclasses.replace(dialog, team=dataclasses.replace(dialog.team, days=frozenset(range(5))))


# --- promise_due ---------------------------------------------------------------------

def test_a_short_promise_inside_hours_is_due_at_the_next_half_hour(dialog: Dialog) -> None:
    assert promise_due(dialog, at(11, 24, 10, 0), hours(2)) == at(11, 24, 12, 0)
    assert promise_due(dialog, at(11, 24, 10, 10), hours(2)) == at(11, 24, 12, 30)
    assert promise_due(dialog, at(11, 24, 10, 31), hours(2)) == at(11, 24, 13, 0)


def test_a_short_promise_rounds_up_no_further_than_closing(dialog: Dialog) -> None:
    assert promise_due(dialog, at(11, 24, 20, 20), timedelta(minutes=30)) == at(11, 24, 21, 0)


def test_a_promise_crossing_closing_time_is_due_at_the_next_days_close(dialog: Dialog) -> None:
    assert promise_due(dialog, at(11, 24, 19, 30), hours(2)) == at(11, 25, 21, 0)


def test_a_promise_made_at_ten_to_midnight(dialog: Dialog) -> None:
    assert promise_due(dialog, at(11, 24, 23, 50), hours(1)) == at(11, 25, 21, 0)
    assert promise_due(dialog, at(11, 24, 23, 50), hours(24)) == at(11, 26, 21, 0)


def test_a_long_promise_is_due_at_the_close_of_the_day_it_ends(dialog: Dialog) -> None:
    # 24 hours from 03:24 ends at 03:24 the next day: by the end of that day, not 03:24.
    assert promise_due(dialog, at(11, 25, 3, 24), hours(24)) == at(11, 26, 21, 0)
    assert promise_due(dialog, at(11, 24, 10, 0), timedelta(days=2)) == at(11, 26, 21, 0)


def test_friday_evening_skips_the_sunday_the_team_is_closed(dialog: Dialog) -> None:
    assert promise_due(dialog, at(11, 27, 20, 0), hours(24)) == at(11, 28, 21, 0)   # Saturday
    assert promise_due(dialog, at(11, 28, 20, 0), hours(24)) == at(11, 30, 21, 0)   # Monday
    five_days = weekdays_only(dialog)
    assert promise_due(five_days, at(11, 27, 20, 0), hours(2)) == at(11, 30, 21, 0)


def test_a_holiday_is_skipped(dialog: Dialog) -> None:
    # 2026-01-01 is a holiday in the shipped file: a day promise from New Year's Eve.
    new_years_eve = datetime(2025, 12, 31, 15, 0, tzinfo=TPE)
    assert promise_due(dialog, new_years_eve, hours(24)) == at(1, 2, 21, 0)
    monday_off = with_holiday(dialog, date(2026, 11, 30))
    assert promise_due(monday_off, at(11, 28, 10, 0), timedelta(days=2)) == at(12, 1, 21, 0)


def test_without_team_hours_the_end_is_rounded_up_to_the_hour(dialog: Dialog) -> None:
    anytime = dataclasses.replace(dialog, team=None)
    assert promise_due(anytime, at(11, 29, 3, 10), hours(2)) == at(11, 29, 6, 0)
    assert promise_due(anytime, at(11, 29, 3, 0), hours(2)) == at(11, 29, 5, 0)


def test_the_due_time_keeps_the_callers_time_zone(dialog: Dialog) -> None:
    start = datetime(2026, 11, 24, 2, 10, tzinfo=UTC)         # 10:10 in Taipei
    due = promise_due(dialog, start, hours(2))
    assert due.tzinfo is UTC and due == at(11, 24, 12, 30)


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20),
                          timezones=st.just(TPE)),
       span=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5)))
def test_a_due_time_is_never_earlier_than_promised_and_a_person_can_keep_it(
        dialog: Dialog, start: datetime, span: timedelta) -> None:
    assert dialog.team is not None
    due = promise_due(dialog, start, span).astimezone(TPE)
    assert due >= start + span
    at_closing = due.time() == dialog.team.closes
    assert works_on(dialog.team, due.date())
    assert at_closing or (is_open(dialog, due) and due.minute in (0, 30) and due.second == 0)


# --- contact_time --------------------------------------------------------------------

def test_a_follow_up_waits_for_the_end_of_quiet_hours(dialog: Dialog) -> None:
    assert contact_time(dialog, at(11, 24, 15, 0)) == at(11, 24, 15, 0)
    assert contact_time(dialog, at(11, 24, 23, 0)) == at(11, 25, 9, 0)
    assert contact_time(dialog, at(11, 25, 3, 0)) == at(11, 25, 9, 0)


def test_a_follow_up_is_not_sent_on_sunday(dialog: Dialog) -> None:
    assert contact_time(dialog, at(11, 28, 22, 0)) == at(11, 30, 9, 0)
    assert contact_time(dialog, at(11, 29, 3, 0)) == at(11, 30, 9, 0)
    assert contact_time(dialog, at(11, 29, 14, 0)) == at(11, 30, 9, 0)


def test_a_follow_up_is_not_sent_on_a_holiday(dialog: Dialog) -> None:
    # The shipped file's Lunar New Year: Monday 2026-02-16 to Friday 02-20.
    assert contact_time(dialog, at(2, 14, 22, 0)) == at(2, 21, 9, 0)
    monday_off = with_holiday(dialog, date(2026, 11, 30))
    assert contact_time(monday_off, at(11, 29, 3, 0)) == at(12, 1, 9, 0)


def test_without_a_team_only_quiet_hours_hold_a_follow_up(dialog: Dialog) -> None:
    anytime = dataclasses.replace(dialog, team=None)
    assert contact_time(anytime, at(11, 29, 3, 0)) == at(11, 29, 9, 0)


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20),
                           timezones=st.just(TPE)))
def test_contact_time_is_the_first_moment_a_follow_up_may_go(dialog: Dialog, moment: datetime) -> None:
    assert dialog.team is not None
    sent = contact_time(dialog, moment)
    assert sent >= moment and quiet_until(dialog, sent) is None and works_on(dialog.team, sent.date())
    assert contact_time(dialog, sent) == sent
    if sent > moment:   # nothing in between was allowed either
        assert contact_time(dialog, moment + (sent - moment) / 2) == sent


def followups_sent(steps: list) -> int:  # type: ignore[type-arg]
    return sum(1 for s in steps for e in s.events if e.kind == "followup_sent")


def committed_case(chat: Chat) -> None:
    chat.send("我買的果汁機按下開關完全沒反應")
    chat.send("", "yes")
    chat.send("", "remedy:exchange")


def test_the_scheduler_sends_a_sunday_3am_follow_up_when_contact_time_says(dialog: Dialog) -> None:
    planned = at(11, 29, 3, 0)                      # Sunday, 03:00
    chat = Chat(dialog, start=at(11, 26, 10, 0))
    committed_case(chat)
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.followup_at is not None
    [row] = chat.store.pending_followups(case.number)
    with chat.store.transaction():               # the follow-up is planned for Sunday 03:00
        case.followup_at = planned
        chat.store.save_case(case)
        chat.store.move_followup(row["id"], planned)
    promised = contact_time(dialog, planned)
    assert promised == at(11, 30, 9, 0)             # Monday, when quiet hours end
    sent_at = []
    tick = at(11, 29, 0, 0)
    while tick <= at(12, 1, 0, 0):
        if followups_sent(chat.later(tick - chat.now)):
            sent_at.append(tick)
        tick += timedelta(minutes=15)
    assert sent_at == [promised]
    case = chat.store.latest_case("line:U1")
    assert case is not None
    pushes = [row for row in chat.store.pending_outbox() if row["kind"] == "push"]
    assert len(pushes) == 1 and case.number in pushes[0]["text"]


# --- phrases -------------------------------------------------------------------------

NOW = at(11, 24, 10, 0)      # Tuesday morning

DEADLINES = {
    "zh-TW": ["今天（11/24，週二）下班前", "明天（11/25，週三）中午 12 點前",
              "後天（11/26，週四）下午 3 點前", "11/27（週五）上午 10 點前", "12/1（週二）下班前"],
    "zh-CN": ["今天（11/24，周二）下班前", "明天（11/25，周三）中午 12 点前",
              "后天（11/26，周四）下午 3 点前", "11/27（周五）上午 10 点前", "12/1（周二）下班前"],
    "en": ["by end of day today (Tue 24 Nov)", "by noon tomorrow (Wed 25 Nov)",
           "by 3 p.m. on Thursday 26 Nov", "by 10 a.m. on Friday 27 Nov", "by Tuesday 1 Dec, end of day"],
}


@pytest.mark.parametrize("locale", list(DEADLINES))
def test_deadlines_today_tomorrow_the_day_after_and_next_week(dialog: Dialog, locale: str) -> None:
    moments = [at(11, 24, 21), at(11, 25, 12), at(11, 26, 15), at(11, 27, 10), at(12, 1, 21)]
    assert [deadline_text(dialog, m, NOW, locale) for m in moments] == DEADLINES[locale]


def test_tomorrows_close_and_an_hour_tomorrow_in_english(dialog: Dialog) -> None:
    assert deadline_text(dialog, at(11, 25, 21), NOW, "en") == "by Wednesday 25 Nov, end of day"
    assert deadline_text(dialog, at(11, 25, 15), NOW, "en") == "by 3 p.m. tomorrow (Wed 25 Nov)"


def test_half_hours_and_odd_minutes_are_never_minute_precise(dialog: Dialog) -> None:
    assert deadline_text(dialog, at(11, 25, 15, 30), NOW, "zh-TW") == "明天（11/25，週三）下午 3 點半前"
    assert deadline_text(dialog, at(11, 25, 15, 30), NOW, "en") == "by 3.30 p.m. tomorrow (Wed 25 Nov)"
    # 03:24 is promised as 03:30, never earlier.
    assert deadline_text(dialog, at(11, 26, 3, 24), NOW, "zh-TW") == "後天（11/26，週四）凌晨 3 點半前"
    assert deadline_text(dialog, at(11, 24, 19, 1), NOW, "zh-CN") == "今天（11/24，周二）晚上 7 点半前"


def test_noon_and_midnight(dialog: Dialog) -> None:
    assert deadline_text(dialog, at(11, 24, 12), NOW, "en") == "by noon today (Tue 24 Nov)"
    assert deadline_text(dialog, at(11, 24, 12, 30), NOW, "en") == "by 12.30 p.m. today (Tue 24 Nov)"
    # Midnight ends the day the customer is living: tonight, not "tomorrow 0:00".
    assert deadline_text(dialog, at(11, 25, 0), NOW, "zh-TW") == "今天（11/24，週二）晚上 12 點前"
    assert deadline_text(dialog, at(11, 25, 0), NOW, "en") == "by midnight today (Tue 24 Nov)"
    assert deadline_text(dialog, at(11, 25, 0, 30), NOW, "en") == "by 12.30 a.m. tomorrow (Wed 25 Nov)"
    assert time_text(dialog, at(11, 25, 0, 30), NOW, "zh-TW") == "明天（11/25，週三）凌晨 12 點半左右"


def test_today_is_the_dialogs_today_not_the_servers(dialog: Dialog) -> None:
    now_utc = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)      # Monday in UTC, Tuesday 01:00 in Taipei
    assert deadline_text(dialog, at(11, 24, 21), now_utc, "zh-TW") == "今天（11/24，週二）下班前"
    assert time_text(dialog, at(11, 25, 10), now_utc, "en") == "tomorrow (Wed 25 Nov), around 10 a.m."


def test_approximate_times_for_follow_ups(dialog: Dialog) -> None:
    assert time_text(dialog, at(11, 25, 10), NOW, "zh-TW") == "明天（11/25，週三）上午 10 點左右"
    assert time_text(dialog, at(11, 25, 10), NOW, "zh-CN") == "明天（11/25，周三）上午 10 点左右"
    assert time_text(dialog, at(11, 25, 10, 5), NOW, "en") == "tomorrow (Wed 25 Nov), around 10 a.m."
    assert time_text(dialog, at(11, 27, 18, 20), NOW, "en") == "Friday 27 Nov, around 6.30 p.m."
    assert time_text(dialog, at(11, 24, 14), NOW, "zh-TW") == "今天（11/24，週二）下午 2 點左右"


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20),
                           timezones=st.just(TPE)),
       locale=st.sampled_from(["zh-TW", "zh-CN", "en"]))
def test_no_phrase_is_minute_precise(dialog: Dialog, moment: datetime, locale: str) -> None:
    for text in (deadline_text(dialog, moment, NOW, locale), time_text(dialog, moment, NOW, locale)):
        assert not re.search(r"\d:\d\d", text), text
        assert not re.search(r"\.(?!30 )\d\d", text), text


def test_other_locales_get_babels_medium_date_and_short_time(dialog: Dialog) -> None:
    assert deadline_text(dialog, at(11, 25, 15, 10), NOW, "de") == "25.11.2026, 15:30"
    assert time_text(dialog, at(11, 25, 15, 10), NOW, "ja") == "2026/11/25 15:00"
    assert deadline_text(dialog, at(11, 25, 15), NOW, "xx-YY") == "by 3 p.m. tomorrow (Wed 25 Nov)"


@pytest.mark.parametrize(("span", "locale", "said"), [
    (hours(1), "en", "1 hour"), (hours(24), "en", "24 hours"), (timedelta(days=2), "en", "2 days"),
    (timedelta(minutes=30), "en", "30 minutes"), (timedelta(minutes=1), "en", "1 minute"),
    (timedelta(minutes=150), "en", "2 hours 30 minutes"), (hours(36), "en", "36 hours"),
    (timedelta(days=1), "en", "24 hours"), (timedelta(seconds=61), "en", "2 minutes"),
    (hours(1), "zh-TW", "1 小時"), (timedelta(days=2), "zh-TW", "2 天"),
    (timedelta(minutes=30), "zh-TW", "30 分鐘"), (hours(4), "zh-CN", "4 小时"),
    (timedelta(days=3), "zh-CN", "3 天"), (timedelta(minutes=90), "zh-CN", "1 小时 30 分钟"),
    (hours(1), "de", "1 Stunde"), (hours(24), "de", "24 Stunden"), (hours(5), "ru", "5 часов"),
    (timedelta(days=2), "ru", "2 дня"),
])
def test_durations_with_grammatical_plurals(span: timedelta, locale: str, said: str) -> None:
    assert duration_text(span, locale) == said
