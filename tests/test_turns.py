"""Turns worked out outside the write lock (`prepare_turn`) and written after a check
(`commit_turn`): what another writer changed in the meantime is never overwritten, case
numbers handed out ahead stay unique, and no other writer waits on a turn's thinking."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.turns import CaseNumbers, commit_turn, handle_incoming, prepare_turn
from bot.types import Incoming
from dialogs.model import Dialog
from storage.store import Store
from storage.writer import Writer

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def said(text: str, event: str, user: str = "U1") -> Incoming:
    return Incoming(channel="line", user_id=user, event_id=event, received_at=NOW, text=text,
                    reply_token="rt-" + event)


def test_a_turn_prepared_before_an_agent_took_the_case_is_worked_out_again(
        tmp_path: Path, dialog: Dialog) -> None:
    writer, reader = Store.open(tmp_path / "r.db"), Store.open(tmp_path / "r.db")
    with writer.transaction():
        handle_incoming(writer, dialog, said("我買的加濕器壞了，用兩天就不出霧", "e1"), NOW)
    prepared = prepare_turn(reader, dialog, said("訂單編號 A12345678", "e2"), NOW, CaseNumbers())
    assert prepared is not None
    case = writer.latest_case("line:U1")
    assert case is not None
    case.owner, case.stage = "agent:amy", "handoff"        # an agent took it meanwhile
    with writer.transaction():
        writer.save_case(case)
        result = commit_turn(writer, dialog, prepared)
    assert result is not None
    after = writer.latest_case("line:U1")
    assert after is not None and after.owner == "agent:amy" and after.stage == "handoff"
    assert any("A12345678" in (m["text"] or "") for m in writer.messages(after.number))


def test_prepared_turns_get_unique_case_numbers_even_when_one_is_taken_meanwhile(
        tmp_path: Path, dialog: Dialog) -> None:
    writer, reader = Store.open(tmp_path / "r.db"), Store.open(tmp_path / "r.db")
    numbers = CaseNumbers()
    first = prepare_turn(reader, dialog, said("耳機左耳沒聲音", "a1", "UA"), NOW, numbers)
    second = prepare_turn(reader, dialog, said("包裹還沒到", "b1", "UB"), NOW, numbers)
    assert first is not None and second is not None
    assert first.numbers != second.numbers and first.numbers and second.numbers
    with writer.transaction():     # another writer opens a case with the first one's number
        handle_incoming(writer, dialog, said("外套尺寸不對", "c1", "UC"), NOW)
        taken = writer.latest_case("line:UC")
        assert taken is not None and taken.number == first.numbers[0]
        commit_turn(writer, dialog, first)
        commit_turn(writer, dialog, second)
    cases = {key: writer.latest_case(key) for key in ("line:UA", "line:UB", "line:UC")}
    found = [c.number for c in cases.values() if c is not None]
    assert len(found) == 3 and len(set(found)) == 3
    messages = [m["text"] for m in writer.db.query(
        "SELECT text FROM outbox WHERE conversation_key = 'line:UA'")]
    ua = cases["line:UA"]
    assert ua is not None and any(ua.number in text for text in messages)   # told its own
    assert not any(first.numbers[0] in text for text in messages)


async def test_a_turn_being_worked_out_keeps_no_other_writer_waiting(tmp_path: Path) -> None:
    """The engine's part of a turn (`prepare`) runs outside the write lock: another
    process's writer (here: a second Writer on the same file, with its own lock) keeps its
    webhooks while a turn is being worked out, and the turn is written after."""
    turns, webhooks = Writer(tmp_path / "w.db"), Writer(tmp_path / "w.db")
    await turns.start()
    await webhooks.start()
    thinking, kept = threading.Event(), threading.Event()

    def prepare(store: Store) -> None:
        thinking.set()
        assert kept.wait(10), "the other writer was kept waiting by a prepare"

    turn = asyncio.ensure_future(turns.run(lambda s: s.next_case_number(2026), prepare=prepare))
    await asyncio.to_thread(thinking.wait, 10)
    await asyncio.wait_for(webhooks.run(lambda s: s.next_case_number(2026), urgent=True), 5)
    kept.set()
    assert await asyncio.wait_for(turn, 5) == "2026CS000002"
    await turns.stop()
    await webhooks.stop()


async def test_a_failing_prepare_leaves_the_job_to_work_it_out_itself(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "w.db")
    await writer.start()

    def prepare(store: Store) -> None:
        raise ValueError("broken read")

    assert await writer.run(lambda s: s.next_case_number(2026), prepare=prepare) == "2026CS000001"
    await writer.stop()
