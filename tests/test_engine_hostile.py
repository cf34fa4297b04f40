"""Hostile input never crashes the engine and never loses the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.turns import handle_incoming, run_due
from bot.types import Incoming
from dialogs.model import Dialog
from storage.store import Store

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Po", "So"]), max_size=80),
    st.just(""),
    st.just("😡" * 500),
    st.just("！？" * 200),
    st.builds(lambda s: s * 100_000, st.sampled_from(["a", "壞", "!", "\u0000"])),
)
action = st.one_of(
    hostile_text.map(lambda t: ("say", t)),
    st.sampled_from(["yes", "no", "human", "retry", "remedy:nope", "fu:resolved", "rate:9", ""])
    .map(lambda p: ("press", p)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=1, max_size=6))
def test_any_sequence_of_messages_is_recorded(dialog: Dialog, actions: list[tuple[str, str]]) -> None:
    store = Store.open(":memory:")
    try:
        now, numbers = START, []
        for n, (kind, value) in enumerate(actions):
            now += timedelta(minutes=7)
            incoming = Incoming(
                channel="test", user_id="hostile", event_id=str(n), received_at=now,
                text=value if kind == "say" else "", payload=value if kind == "press" else None,
            )
            with store.transaction():
                result = handle_incoming(store, dialog, incoming, now)
                run_due(store, dialog, now + timedelta(days=3))
            assert result is not None and result.step.case is not None
            assert result.step.case.stage in (
                "listening", "confirming", "offering", "committed", "handoff", "closed")
            assert all(message.text.strip() for message in result.step.outgoing)
            if result.step.case.number not in numbers:
                numbers.append(result.step.case.number)
        kept = [
            (m["text"] or "", m["payload"])
            for number in numbers for m in store.messages(number) if m["direction"] == "in"
        ]
        stored = [v.replace("\x00", "\ufffd") for _, v in actions]     # NUL: kept as U+FFFD
        sent = [(v, None) if k == "say" else ("", v)
                for (k, _), v in zip(actions, stored, strict=True)]
        assert sorted(kept, key=repr) == sorted(sent, key=repr)
    finally:
        store.close()


def test_a_huge_message_is_kept_whole(dialog: Dialog) -> None:
    store = Store.open(":memory:")
    text = "我買的加濕器壞了" + "啊" * 100_000
    incoming = Incoming(channel="test", user_id="u", event_id="1", received_at=START, text=text)
    with store.transaction():
        result = handle_incoming(store, dialog, incoming, START)
    assert result is not None and result.step.case is not None
    stored = store.messages(result.step.case.number)
    assert stored[0]["text"] == text
    assert all(len(m.text) < 5000 for m in result.step.outgoing)
    store.close()


def test_a_redelivered_event_is_processed_once(dialog: Dialog) -> None:
    store = Store.open(":memory:")
    incoming = Incoming(channel="line", user_id="U1", event_id="ev-1", received_at=START,
                        text="包裹還沒到")
    with store.transaction():
        first = handle_incoming(store, dialog, incoming, START)
    with store.transaction():
        again = handle_incoming(store, dialog, incoming, START + timedelta(seconds=5))
    assert first is not None and again is None
    assert first.step.case is not None
    assert len([m for m in store.messages(first.step.case.number) if m["direction"] == "in"]) == 1
    store.close()
