"""Engine rules that hold whatever the customer does (beyond the story files)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialogs.model import Dialog
from tests.test_handoff import Chat

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
INPUTS = [
    ("text", "有人在嗎？"), ("text", "我要告你們！！！"), ("text", "對"), ("text", ""),
    ("text", "第一個"), ("text", "進度呢"), ("payload", "yes"), ("payload", "no"),
    ("payload", "human"), ("payload", "remedy:exchange"), ("payload", "fu:resolved"),
    ("payload", "rate:5"), ("payload", "retry"),
]


def test_the_first_reply_carries_the_case_number_and_the_response_time(dialog: Dialog) -> None:
    step = Chat(dialog).send("耳機右耳沒有聲音")
    first = step.outgoing[0].text
    # Monday 10:01 + 24 hours, said as a person would: a day, a date and a half hour
    assert step.case.number in first and "最晚明天（11/24，週二）上午 10 點半前" in first


@pytest.mark.parametrize(("kind", "value"), INPUTS)
def test_a_case_with_a_person_gets_nothing_automatic(dialog: Dialog, kind: str, value: str) -> None:
    """Whatever the customer sends, the bot only says it passed the message on (no menu,
    no question, no buttons), and not again within half an hour."""
    chat = Chat(dialog)
    assert chat.send("我要找真人").case.stage == "handoff"
    step = chat.send(value if kind == "text" else "", value if kind == "payload" else None)
    assert step.case.stage == "handoff"
    assert [(o.text[:9], o.buttons) for o in step.outgoing] == [("收到，已經轉告負責", ())]
    again = chat.send("還要等多久？")
    assert again.outgoing == [] and again.case.stage == "handoff"
    inbound = [m for m in chat.store.messages(step.case.number) if m["direction"] == "in"]
    assert len(inbound) == 3


def test_threats_inside_a_handoff_are_still_recorded(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我要找主管")
    step = chat.send("再不處理我就找消保官")
    assert "threat" in step.case.signal_names()


def test_refusing_both_remedies_in_words_hands_over(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的檯燈燈泡一直閃")
    assert chat.send(payload="yes").case.stage == "offering"
    step = chat.send("兩個都不要")
    assert step.case.stage == "handoff" and "rejected_remedies" in step.case.signal_names()
    assert step.case.severity == "high"


def test_a_remedy_can_be_chosen_by_its_words(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("The kettle I bought stopped working")
    chat.send("yes")
    step = chat.send("the refund please")
    assert step.case.stage == "committed" and step.case.remedy_id == "refund"
    assert step.case.due_at is not None and step.case.followup_at is not None


def test_telling_the_same_thing_twice_counts_as_repeated(dialog: Dialog) -> None:
    chat = Chat(dialog)
    chat.send("我買的吸塵器吸力變得很弱")
    chat.send(payload="no")
    step = chat.send("我買的吸塵器吸力變得很弱")
    assert "repeated" in step.case.signal_names()
