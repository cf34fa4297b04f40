"""Telegram: what one reply looks like to the customer, how a failing reply is retried, and
how updates Heard cannot read are refused. `heard serve` against the local Bot API stub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.store import Store
from tests.channels import Served, serving, telegram_text

CHAT = 4711
COMPLAINT = "The kettle I bought last week stopped working"


def outbox(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT status, attempts, next_try_ts FROM outbox ORDER BY id").fetchall()
    return [dict(zip(("status", "attempts", "next_try_ts"), row, strict=True)) for row in rows]


async def case_number(s: Served) -> str:
    return str((await s.read(lambda st: st.list_cases()))[0].number)


async def retry_now(s: Served) -> None:
    await s.server.writer.run(lambda st: st.conn.execute("UPDATE outbox SET next_try_ts = 0"))
    await s.server.delivery.send_due()


async def test_the_first_reply_is_one_message_with_the_case_number_restatement_and_buttons(
        tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        assert (await s.post_telegram(telegram_text(1, CHAT, COMPLAINT))).status == 200
        await s.settle()
        assert len(s.telegram.sent) == 1
        reply = s.telegram.sent[0]
        assert reply["chat_id"] == CHAT
        acknowledgement, restatement = reply["text"].split("\n\n")
        assert await case_number(s) in acknowledgement
        assert "kettle you bought" in restatement and restatement.rstrip().endswith(
            "move faster.")
        buttons = [row[0]["callback_data"] for row in reply["reply_markup"]["inline_keyboard"]]
        assert buttons == ["yes", "no"]
        assert [r["status"] for r in await s.read(outbox)] == ["sent", "sent"]


async def complain_while_failing(s: Served, status: int, description: str) -> None:
    """The customer's first message, its joined reply answered with `status` once."""
    s.telegram.fail("sendMessage", status, body={"description": description})
    await s.post_telegram(telegram_text(1, CHAT, COMPLAINT))
    await s.settle()


async def test_a_joined_reply_that_fails_is_retried_whole_and_never_half_sent(
        tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        await complain_while_failing(s, 502, "Bad Gateway")
        assert s.telegram.sent == []
        rows = await s.read(outbox)
        assert [r["status"] for r in rows] == ["pending", "pending"]
        assert rows[0]["next_try_ts"] == rows[1]["next_try_ts"] > 0   # waiting together

        await retry_now(s)
        assert len(s.telegram.sent) == 1                  # the whole reply, once
        text = s.telegram.sent[0]["text"]
        assert await case_number(s) in text and "kettle you bought" in text
        assert s.telegram.sent[0]["reply_markup"]["inline_keyboard"]
        assert [r["status"] for r in await s.read(outbox)] == ["sent", "sent"]


async def test_a_refused_joined_reply_fails_whole_and_the_team_hears_once(
        tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        await complain_while_failing(s, 400, "Bad Request: chat not found")
        await retry_now(s)
        assert s.telegram.sent == []
        assert [r["status"] for r in await s.read(outbox)] == ["failed", "failed"]
        number = await case_number(s)
        told = [e for e in await s.read(lambda st: st.events(number))
                if e["kind"] == "delivery_failed"]
        assert len(told) == 1 and told[0]["data"]["messages"] == 2


async def test_buttons_end_a_message_and_texts_join_only_while_they_fit(tmp_path: Path) -> None:
    long_text = "x" * 4090   # alone it fits; after "three" it would not
    rows = [("one", []), ("two", [{"label": "Yes", "payload": "yes"}]), ("three", []),
            (long_text, [])]
    async with serving(tmp_path / "h.db") as s:
        def enqueue(store: Store) -> None:
            for text, buttons in rows:
                store.enqueue(None, f"telegram:{CHAT}", "telegram", str(CHAT), text, buttons,
                              "reply", None, s.server.clock())

        await s.server.writer.run(enqueue)
        await s.server.delivery.send_due()
        assert [m["text"] for m in s.telegram.sent] == ["one\n\ntwo", "three", long_text]
        assert s.telegram.sent[0]["reply_markup"] == {
            "inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
        assert "reply_markup" not in s.telegram.sent[1]


async def test_updates_heard_cannot_read_are_refused_and_the_rest_answered(
        tmp_path: Path) -> None:
    broken = [
        {"update_id": 1, "message": {"chat": {"id": str(CHAT)}, "text": "hi"}},
        {"update_id": 2, "message": {"chat": {"id": CHAT}, "text": 5}},
        {"update_id": 3, "message": {"chat": {"id": CHAT}, "text": "hi", "from": "me"}},
        {"update_id": 4, "callback_query": {"from": {"id": CHAT}, "data": "yes"}},
        {"update_id": 5, "callback_query": {"id": "cb5", "from": {"id": True}}},
    ]
    async with serving(tmp_path / "h.db") as s:
        for update in broken:
            assert (await s.post_telegram(update)).status == 200   # not redelivered
        photo = telegram_text(6, CHAT, "")
        del photo["message"]["text"]
        photo["message"]["photo"] = [{"file_id": "abc", "width": 90, "height": 90}]
        assert (await s.post_telegram(photo)).status == 200         # ignored, not refused
        assert (await s.post_telegram(telegram_text(7, CHAT, COMPLAINT))).status == 200
        await s.settle()
        async with s.http.get(f"{s.url}/metrics") as r:
            metrics = await r.text()
        assert 'heard_events_refused_total{channel="telegram",reason="invalid update"} 5' in metrics
        assert await s.read(lambda st: st.count_cases()) == 1
        assert len(s.telegram.sent) == 1 and s.telegram.sent[0]["chat_id"] == CHAT
