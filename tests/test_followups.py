"""Follow-up rules beyond the stories: urgent cadence, minor sampling, blocked customers,
the contact cap freeing up, overdue commitments."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.engine import _sampled
from dialogs.model import Dialog
from tests.test_handoff import Chat


def followups_in(steps: list) -> int:  # type: ignore[type-arg]
    return sum(1 for s in steps for e in s.events if e.kind == "followup_sent")


def test_urgent_cases_are_called_back_daily_until_answered(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("你們的熱水壺漏電，我被電到")
    chat.act("claim")
    due = chat.now + timedelta(hours=2)
    chat.act("commit", commitment="今天全額退款並收回檢驗", due_at=due)
    case = chat.act("resolve")
    assert case.severity == "urgent" and case.followup_at == due + timedelta(hours=24)
    first = chat.later(timedelta(hours=27))
    assert followups_in(first) == 1
    assert followups_in(chat.later(timedelta(hours=12))) == 0
    assert followups_in(chat.later(timedelta(hours=13))) == 1     # a day later, not two


def test_minor_cases_are_sampled_by_case_number() -> None:
    from datetime import UTC, datetime

    from bot.case import CaseState

    now = datetime(2026, 11, 23, tzinfo=UTC)
    picked = [_sampled(CaseState(f"2026CS{n:06d}", "k", "line", None, "zh-TW", "committed",
                                 now, now, now), 0.2) for n in range(1, 1001)]
    assert 150 < sum(picked) < 250            # about one in five
    again = [_sampled(CaseState(f"2026CS{n:06d}", "k", "line", None, "zh-TW", "committed",
                                now, now, now), 0.2) for n in range(1, 1001)]
    assert picked == again                     # the same cases every time


def test_a_blocked_customer_is_skipped_and_it_is_recorded(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的果汁機按下開關完全沒反應")
    chat.send("", "yes")
    chat.send("", "remedy:exchange")
    with chat.store.transaction():
        chat.store.set_blocked("line:U1", True)
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.followup_at is not None
    assert followups_in(chat.later(case.followup_at - chat.now + timedelta(days=1))) == 0
    kinds = [e["kind"] for e in chat.store.events(case.number)]
    assert "followup_skipped" in kinds
    assert chat.store.pending_followups(case.number) == []


def test_the_contact_cap_frees_up_after_the_week(dialog: Dialog) -> None:
    capped = dataclasses.replace(dialog, followups=dataclasses.replace(
        dialog.followups, max_contacts=1, per_days=7))
    chat = Chat(capped)
    chat.send("我買的耳機有雜音")
    chat.send("", "yes")
    chat.send("", "remedy:exchange")
    chat.send("另外我被重複扣款了兩次")
    chat.send("", "yes")
    chat.send("", "remedy:refund-difference")
    sent = [followups_in(chat.later(timedelta(days=1))) for _ in range(12)]
    assert sum(sent[:8]) == 1                    # one contact in the first week …
    assert sum(sent) >= 2                        # … the next only once the week is over


def test_an_overdue_commitment_reminds_the_owner_once(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的果汁機按下開關完全沒反應")
    chat.send("", "yes")
    chat.send("", "remedy:exchange")           # due in 2 days, at the day's close
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.due_at is not None
    assert chat.later(case.due_at - chat.now - timedelta(hours=1)) == []
    steps = chat.later(timedelta(hours=2))
    assert [e.kind for s in steps for e in s.events] == ["commitment_overdue"]
    assert all(not s.outgoing for s in steps)  # the customer is not told: the team is
    assert [e.kind for s in chat.later(timedelta(hours=2)) for e in s.events] == []


def test_a_kept_commitment_is_not_overdue(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的果汁機按下開關完全沒反應")
    chat.send("", "yes")
    chat.send("", "remedy:exchange")
    case = chat.act("fulfil")
    assert case.fulfilled_at is not None and case.due_at is not None
    kinds = [e.kind for s in chat.later(case.due_at - chat.now + timedelta(hours=1))
             for e in s.events]
    assert "commitment_overdue" not in kinds
