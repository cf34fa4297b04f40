"""Handing a case to a person: silence, business hours, the SLA timer and agent actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import agents
from bot.case import CaseState, Step
from bot.engine import Context
from bot.remedies import remedies_for
from bot.turns import handle_incoming, run_due
from bot.types import Incoming
from dialogs.model import Dialog
from storage.store import Store

TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=TAIPEI)


class Chat:
    def __init__(self, dialog: Dialog, start: datetime = MONDAY_10) -> None:
        self.store, self.dialog, self.now, self.n = Store.open(":memory:"), dialog, start, 0

    def send(self, text: str = "", payload: str | None = None) -> Step:
        self.n += 1
        self.now += timedelta(minutes=1)
        incoming = Incoming("line", "U1", f"e{self.n}", self.now, text=text, payload=payload)
        with self.store.transaction():
            result = handle_incoming(self.store, self.dialog, incoming, self.now)
        assert result is not None and result.step.case is not None
        return result.step

    def later(self, span: timedelta) -> list[Step]:
        self.now += span
        with self.store.transaction():
            return [r.step for r in run_due(self.store, self.dialog, self.now)]

    def act(self, action: str, agent: str = "amy", **args: object) -> CaseState:
        case = self.store.latest_case("line:U1")
        assert case is not None
        ctx = Context(dialog=self.dialog, now=self.now,
                      new_case_number=lambda: self.store.next_case_number(2026))
        step = getattr(agents, action)(case, agent, ctx=ctx, **args)
        with self.store.transaction():
            self.store.apply(step, None, self.now)
        self.last = step
        return step.case

    def outbox(self) -> list[dict[str, object]]:
        return self.store.pending_outbox()


# Ways into `handoff` from every stage the bot runs.
ROUTES = {
    "listening": [("我要找真人客服", None)],
    "confirming": [("我買的耳機有雜音", None), ("", "human")],
    "offering": [("我買的耳機有雜音", None), ("", "yes"), ("", "human")],
    "committed": [("我買的耳機有雜音", None), ("", "yes"), ("", "remedy:exchange"),
                  ("", "human")],
    "closed": [("我買的耳機有雜音", None), ("", "yes"), ("", "remedy:exchange")],
}
INPUTS = [("有人在嗎？", None), ("我要告你們！！！", None), ("對", None), ("", None),
          ("第一個", None), ("進度呢", None), ("我的包裹也還沒到", None), ("😡😡", None),
          ("", "yes"), ("", "no"), ("", "human"), ("", "retry"), ("", "remedy:exchange"),
          ("", "fu:resolved"), ("", "rate:5"), ("", "media:sticker:1"), ("", "event:follow")]


@pytest.mark.parametrize("stage", list(ROUTES))
@pytest.mark.parametrize(("text", "payload"), INPUTS)
def test_the_bot_says_nothing_while_a_person_has_the_case(
        dialog: Dialog, stage: str, text: str, payload: str | None) -> None:
    chat = Chat(dialog)
    for said, pressed in ROUTES[stage]:
        chat.send(said, pressed)
    if stage == "closed":   # a closed case comes back through the follow-up: not solved
        committed = chat.store.latest_case("line:U1")
        assert committed is not None and committed.followup_at is not None
        chat.later(committed.followup_at - chat.now + timedelta(minutes=1))
        chat.send("", "fu:not_solved")
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.stage == "handoff"
    chat.act("claim")
    step = chat.send(text, payload)
    assert step.case is not None and step.case.stage == "handoff"
    # at most the short "passed on to the person looking after it", never a menu
    assert all(not o.buttons and "轉告" in o.text for o in step.outgoing)
    assert all(not s.outgoing for s in chat.later(timedelta(days=2)))


def test_the_handoff_names_the_team_and_the_time(dialog: Dialog) -> None:
    step = Chat(dialog).send("我要找真人客服")
    said = step.outgoing[-1].text
    assert step.case is not None
    assert step.case.first_response_due == step.case.handoff_at + timedelta(hours=24)
    assert "客服專員" in said and "最晚明天（11/24，週二）上午 10 點半前" in said


def test_outside_business_hours_the_clock_starts_when_the_team_is_back(dialog: Dialog) -> None:
    saturday_night = datetime(2026, 11, 28, 22, 30, tzinfo=TAIPEI)
    step = Chat(dialog, start=saturday_night).send("我要找真人客服")
    assert step.case is not None
    monday_9 = datetime(2026, 11, 30, 9, 0, tzinfo=TAIPEI)   # Sunday is a day off
    assert step.case.first_response_due == monday_9 + timedelta(hours=24)
    said = step.outgoing[-1].text
    assert "12/1" in said and "上午 9 點" in said and "週二" in said, said


def test_urgent_cases_are_answered_around_the_clock(dialog: Dialog) -> None:
    new_year = datetime(2026, 1, 1, 3, 0, tzinfo=TAIPEI)
    step = Chat(dialog, start=new_year).send("熱水壺漏電，我被電到了")
    assert step.case is not None and step.case.severity == "urgent"
    assert step.case.first_response_due == step.case.handoff_at + timedelta(hours=1)


def test_nobody_claiming_in_time_tells_the_customer_once(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("耳機壞了，我要找消保官")          # high: 4 hours
    assert chat.later(timedelta(hours=3)) == []
    breached = chat.later(timedelta(hours=2))
    assert len(breached) == 1 and breached[0].case is not None
    assert breached[0].case.sla_breached
    assert [e.kind for e in breached[0].events] == ["sla_breach"]
    assert "久等" in breached[0].outgoing[0].text and breached[0].outgoing[0].kind == "push"
    assert chat.later(timedelta(hours=5)) == []


def test_a_claimed_case_never_breaches(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("耳機壞了，我要找消保官")
    chat.act("claim")
    assert chat.later(timedelta(days=3)) == []


def test_claim_reply_note_commit_and_resolve(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的吹風機用一次就壞了，我要去PTT爆料")
    case = chat.act("claim")
    assert case.owner == "agent:amy" and case.claimed_at is not None
    with pytest.raises(agents.ActionError, match="claimed by amy"):
        chat.act("claim", agent="ben")
    with pytest.raises(agents.ActionError, match="belongs to amy"):
        chat.act("reply", agent="ben", text="hi")
    chat.act("reply", text="您好，我是 Amy，今天會寄出新的吹風機給您。")
    pushed = [row for row in chat.outbox() if row["kind"] == "agent"]
    assert len(pushed) == 1 and "Amy" in str(pushed[0]["text"])
    assert pushed[0]["reply_token"] is None   # an agent's words are pushed
    chat.act("note", text="客人很在意 PTT，優先處理")
    due = chat.now + timedelta(days=1)
    case = chat.act("commit", commitment="今天寄出新的吹風機", due_at=due)
    assert case.commitment == "今天寄出新的吹風機" and case.due_at == due
    case = chat.act("resolve")
    assert case.stage == "committed" and case.owner == "bot"
    assert case.followup_at == due + dialog.grades[case.severity].followup_after
    assert len(chat.store.pending_followups(case.number)) == 1
    assert "客服專員已經處理完案件" in chat.last.outgoing[0].text
    kinds = [e["kind"] for e in chat.store.events(case.number)]
    assert {"claimed", "agent_reply", "note", "commitment_set", "resolved"} <= set(kinds)
    # the customer's next words are the bot's again, and the old threat no longer counts
    step = chat.send("好的，謝謝")
    assert step.case is not None and step.case.stage == "committed" and step.outgoing


def claimed_after_restating(dialog: Dialog) -> Chat:
    """A restated problem (headphones crackle) the customer asked a person about."""
    chat = Chat(dialog)
    chat.send("我買的耳機有雜音")
    chat.send("", "human")
    chat.act("claim")
    chat.act("reply", text="您好，我是 Amy，耳機的雜音我來幫您處理。")
    return chat


def pushed_since(chat: Chat, before: int) -> list[dict[str, object]]:
    return [row for row in chat.outbox()[before:] if row["kind"] != "agent"]


def test_hand_back_needs_a_choice(dialog: Dialog) -> None:
    chat = claimed_after_restating(dialog)
    for then in (None, "menu"):
        with pytest.raises(agents.ChoiceError, match="close, confirm, offer, listen"):
            chat.act("hand_back", then=then)
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.stage == "handoff" and case.owner == "agent:amy"


def test_hand_back_to_close_is_resolve(dialog: Dialog) -> None:
    chat = claimed_after_restating(dialog)
    before = len(chat.outbox())
    case = chat.act("hand_back", then="close")
    assert case.stage == "committed" and case.owner == "bot" and case.risk == 0
    assert case.followup_at == chat.now + dialog.grades[case.severity].followup_after
    assert len(chat.store.pending_followups(case.number)) == 1
    (told,) = pushed_since(chat, before)
    assert "客服專員已經處理完案件" in str(told["text"]) and case.number in str(told["text"])
    handed = [e["data"] for e in chat.store.events(case.number) if e["kind"] == "handed_back"]
    assert handed == [{"agent": "amy", "then": "close"}]
    assert "resolved" in [e["kind"] for e in chat.store.events(case.number)]


def test_hand_back_to_confirm_says_what_was_promised_and_by_when(dialog: Dialog) -> None:
    chat = claimed_after_restating(dialog)
    due = chat.now + timedelta(days=1)
    chat.act("commit", commitment="明天寄出新的耳機", due_at=due)
    before = len(chat.outbox())
    case = chat.act("hand_back", then="confirm")
    assert case.stage == "committed" and case.owner == "bot" and case.risk == 0
    assert case.followup_at == due + dialog.grades[case.severity].followup_after
    assert len(chat.store.pending_followups(case.number)) == 1
    (told,) = pushed_since(chat, before)
    text = str(told["text"])
    assert "明天寄出新的耳機" in text and "11/24" in text and not told["buttons"]
    # the customer asking later gets the bot's progress answer, not a person's silence
    step = chat.send("進度呢？")
    assert step.case is not None and step.case.stage == "committed" and step.outgoing


def test_confirm_is_refused_without_a_commitment_or_once_it_is_late(dialog: Dialog) -> None:
    chat = claimed_after_restating(dialog)
    with pytest.raises(agents.ActionError, match="no commitment to confirm"):
        chat.act("hand_back", then="confirm")
    chat.act("commit", commitment="兩小時內回電", due_at=chat.now + timedelta(hours=2))
    chat.now += timedelta(hours=3)
    with pytest.raises(agents.ActionError, match="promised time has passed"):
        chat.act("hand_back", then="confirm")
    case = chat.store.latest_case("line:U1")
    assert case is not None and case.stage == "handoff"


def test_hand_back_to_offer_the_remedies_again(dialog: Dialog) -> None:
    chat = claimed_after_restating(dialog)
    before = len(chat.outbox())
    case = chat.act("hand_back", then="offer")
    assert case.stage == "offering" and case.owner == "bot" and case.risk == 0
    (told,) = pushed_since(chat, before)
    assert str(told["text"]).startswith("如果您想換個處理方式")
    pressed = [b["payload"] for b in told["buttons"]]  # type: ignore[attr-defined]
    first, second = remedies_for(case, dialog)
    assert pressed == [f"remedy:{first.id}", f"remedy:{second.id}", "human"]
    step = chat.send("第一個")
    assert step.case is not None and step.case.stage == "committed"
    assert step.case.remedy_id == first.id


def test_offer_is_refused_before_the_problem_was_restated(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("", "human")                      # a person asked for before saying anything
    chat.act("claim")
    with pytest.raises(agents.ActionError, match="no restated problem"):
        chat.act("hand_back", then="offer")
    case = chat.act("hand_back", then="listen")
    assert case.stage == "listening" and chat.last.outgoing == []


@pytest.mark.parametrize(("commit", "stage"), [(False, "confirming"), (True, "committed")])
def test_hand_back_to_listen_says_nothing(dialog: Dialog, commit: bool, stage: str) -> None:
    chat = claimed_after_restating(dialog)
    chat.send("我要告你們！！！")                 # a threat the person has now dealt with
    if commit:
        chat.act("commit", commitment="明天寄出新的耳機", due_at=chat.now + timedelta(days=1))
    before = len(chat.outbox())
    case = chat.act("hand_back", then="listen")
    assert case.stage == stage and case.owner == "bot" and case.risk == 0
    assert chat.last.outgoing == [] and pushed_since(chat, before) == []
    assert case.misses == case.rejections == case.progress_asks == 0
    assert case.handled == len(case.signals)
    step = chat.send("好，謝謝你們")
    assert step.case is not None and step.case.stage != "handoff" and step.outgoing


def test_transfer_to_another_agent(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我要找真人客服")
    chat.act("claim")
    case = chat.act("transfer", to_agent="ben")
    assert case.owner == "agent:ben"
    with pytest.raises(agents.ActionError):
        chat.act("resolve")          # amy no longer owns it
    assert chat.act("resolve", agent="ben").stage == "committed"


def test_canned_replies_fill_in_the_case(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我要找真人客服")
    case = chat.store.latest_case("line:U1")
    assert case is not None
    canned = agents.canned_replies(case, "Amy", dialog)
    assert case.number in canned["took_over"] and "Amy" in canned["took_over"]
