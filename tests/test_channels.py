"""`heard serve` with LINE and Telegram: real SDKs against local stub platforms."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import (
    CustomerBlocked,
    OutboxMessage,
    PermanentFailure,
    TemporaryFailure,
)
from adapters.line import LineChannel, render_json
from dialogs.loader import default_dialog_path, load_dialog
from storage.store import Store
from tests.channels import (
    fixture,
    line_body,
    line_event,
    serving,
    sign,
    telegram_press,
    telegram_text,
)
from tests.stubs import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN, LineStub, TelegramStub

USER = "U206d25c2ea6bd87c17655609a1c37cb8"
ROOT = Path(__file__).resolve().parent.parent


def inbox_count(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM inbox").fetchone()[0])


# ---------------------------------------------------------------- LINE: receiving


async def test_a_signed_shared_fixture_is_answered_and_replied_to(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = json.dumps(fixture("line/text_message.json")).encode()
        response = await s.post_line(body)
        assert response.status == 200
        await s.settle()
        assert len(s.line.replies) == 1
        reply = s.line.replies[0]
        assert reply["replyToken"] == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
        said = reply["messages"][0]["text"]
        # the fixture's text opens a case (its number) or, a bare greeting, is greeted back
        assert "2026CS" in said or "CS0000" in said or said == load_dialog(
            default_dialog_path()).text("greeting", "en")


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", None])
async def test_a_bad_signature_is_401_and_nothing_is_kept(tmp_path: Path,
                                                          signature: str | None) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = line_body(line_event("text", USER, "01EV0000000000000000000001", text="包裹還沒到"))
        if signature is None:
            async with s.http.post(f"{s.url}/webhooks/line", data=body) as r:
                assert r.status == 401
        else:
            assert (await s.post_line(body, signature=signature)).status == 401
        await s.settle()
        assert await s.read(inbox_count) == 0 and s.line.calls == []


async def test_malformed_json_is_400_and_an_oversized_body_413(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db", max_body=2000) as s:
        assert (await s.post_line(b'{"events": [')).status == 400
        big = line_body(line_event("text", USER, "01EV0000000000000000000002", text="壞" * 3000))
        assert (await s.post_line(big)).status == 413
        assert await s.read(inbox_count) == 0


async def test_the_url_check_with_no_events_is_200(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        assert (await s.post_line(line_body())).status == 200


async def test_a_redelivered_event_is_answered_and_processed_once(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = line_body(line_event("text", USER, "01EV0000000000000000000003",
                                    text="我買的耳機右耳沒有聲音"))
        assert (await s.post_line(body)).status == 200
        assert (await s.post_line(body)).status == 200
        await s.settle()
        cases = await s.read(lambda st: st.list_cases())
        assert len(cases) == 1
        inbound = await s.read(lambda st: [m for m in st.messages(cases[0].number)
                                           if m["direction"] == "in"])
        assert len(inbound) == 1 and len(s.line.replies) == 1


async def test_a_full_complaint_on_line(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        await s.post_line(line_body(line_event(
            "text", USER, "01EV0000000000000000000010",
            text="我買的加濕器用兩天就不出霧了，打給客服三次都沒有答案")))
        await s.settle()
        first = s.line.replies[-1]["messages"]
        assert len(first) == 2 and "加濕器" in first[1]["text"]
        items = first[1]["quickReply"]["items"]
        assert [i["action"]["data"] for i in items] == ["yes", "no"]
        assert all(len(i["action"]["label"]) <= 20 for i in items)

        await s.post_line(line_body(line_event("postback", USER, "01EV0000000000000000000011",
                                               data="yes")))
        await s.settle()
        offer = s.line.replies[-1]["messages"][-1]
        datas = [i["action"]["data"] for i in offer["quickReply"]["items"]]
        assert len(datas) == 3 and datas[0].startswith("remedy:") and datas[2] == "human"

        await s.post_line(line_body(line_event("postback", USER, "01EV0000000000000000000012",
                                               data=datas[1])))
        await s.settle()
        done = s.line.replies[-1]["messages"][-1]["text"]
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert case.stage == "committed" and case.number in done
        assert len(s.line.replies) == 3 and s.line.pushes == []


async def test_follow_greets_without_a_case_and_unfollow_stops_pushes(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        await s.post_line(line_body(line_event("follow", USER, "01EV0000000000000000000020")))
        await s.settle()
        assert "幫忙" in s.line.replies[-1]["messages"][0]["text"]
        assert await s.read(lambda st: st.count_cases()) == 0

        await s.post_line(line_body(line_event("text", USER, "01EV0000000000000000000021",
                                               text="包裹還沒到")))
        await s.post_line(line_body(line_event("unfollow", USER, "01EV0000000000000000000022")))
        await s.settle()
        customer = await s.read(lambda st: st.customer(f"line:{USER}"))
        assert customer["blocked"] == 1


async def test_stickers_and_images_are_acknowledged_and_kept(tmp_path: Path) -> None:
    """A sticker is answered and kept in the transcript without opening a case; the image
    opens one (tests/test_files_channels.py covers what is fetched and stored)."""
    async with serving(tmp_path / "h.db") as s:
        for name in ("sticker", "image"):
            await s.post_line(json.dumps(fixture(f"line/{name}.json")).encode())
        await s.settle()
        assert len(s.line.replies) == 2
        case = (await s.read(lambda st: st.list_cases()))[0]
        kept = [m["payload"] for m in await s.read(lambda st: st.messages(case.number))
                if m["direction"] == "in"]
        assert kept == ["media:image:354718705033693859"]
        both = await s.read(lambda st: st.conversation_messages(f"line:{USER}"))
        assert [m["payload"] for m in both if m["payload"]] == [
            "media:sticker:1501597916", "media:image:354718705033693859"]


async def test_standby_mode_sends_nothing(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = line_body(line_event("text", USER, "01EV0000000000000000000030",
                                    text="包裹還沒到", mode="standby"))
        assert (await s.post_line(body)).status == 200
        await s.settle()
        assert s.line.calls == []


# ---------------------------------------------------------------- LINE: sending


async def test_what_line_answers_decides_what_delivery_does() -> None:
    """The adapter posts the Messaging API JSON itself: each answer LINE can give means
    what it meant through the SDK, and the access token never shows in an error."""
    stub = LineStub()
    await stub.start()
    stub.hang = 1.0
    line = LineChannel(LINE_SECRET, LINE_TOKEN, host=stub.url, data_host=stub.url, timeout=0.3)
    await line.start()
    now = datetime.now(UTC)
    steps: list[str] = []

    async def checkpoint(how: str) -> None:
        steps.append(how)

    def batch(token: str | None = None, key: str = "k1") -> list[OutboxMessage]:
        return [OutboxMessage(1, f"line:{USER}", "line", USER, "收到，我看一下", (), "reply",
                              token, now.timestamp(), key, 0, token_ts=now.timestamp())]

    try:
        stub.issued["fresh"] = (USER, stub.now())
        await line.send(batch("fresh"), now, checkpoint)             # taken as a reply
        assert steps == ["reply"] and stub.replies == [
            {"replyToken": "fresh", "messages": render_json(batch()),
             "notificationDisabled": False}]
        _, _, headers = stub.calls[-1]
        assert headers["Content-Type"] == "application/json"
        await line.send(batch("never-issued"), now, checkpoint)      # refused: pushed at once
        assert steps == ["reply", "reply", "push"] and len(stub.pushes) == 1
        assert stub.calls[-1][2]["X-Line-Retry-Key"] == "k1"
        await line.send(batch(), now, checkpoint)                    # 409: already delivered
        assert len(stub.pushes) == 1 and len(stub.received) == 2

        stub.issued["fresh2"] = (USER, stub.now())
        stub.fail("reply", 400, body={"message": "The request body has 2 error(s)"})
        with pytest.raises(PermanentFailure, match="has 2 error"):   # refused, not pushed
            await line.send(batch("fresh2"), now, checkpoint)
        assert steps[-1] == "reply" and len(stub.pushes) == 1

        cases: list[tuple[int | str, dict[str, str], type[Exception]]] = [
            (429, {"Retry-After": "7"}, TemporaryFailure), (503, {}, TemporaryFailure),
            (403, {}, CustomerBlocked), (404, {}, PermanentFailure),
            ("timeout", {}, TemporaryFailure)]
        for status, retry_after, error in cases:
            stub.fail("push", status, headers=retry_after)
            with pytest.raises(error) as caught:
                await line.send(batch(key=f"key-{status}"), now, checkpoint)
            assert LINE_TOKEN not in str(caught.value)
            if status == 429:
                assert caught.value.retry_after == 7 and caught.value.whole_channel
            if status == 503:
                assert caught.value.retry_after is None and not caught.value.whole_channel
            if status == 404:
                assert "stub says 404" in str(caught.value)
            if status == "timeout":
                assert "Timeout" in str(caught.value)
        assert len(stub.received) == 2                             # nothing more arrived
    finally:
        await line.close()
        await stub.stop()
    with pytest.raises(TemporaryFailure, match="not started"):
        await line.send(batch(), now, checkpoint)


# ---------------------------------------------------------------- Telegram


async def test_a_full_complaint_on_telegram(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        chat = 4242
        assert (await s.post_telegram(telegram_text(1, chat, "/start"))).status == 200
        await s.settle()
        assert len(s.telegram.sent) == 1 and "help" in s.telegram.texts[0]
        assert (await s.post_telegram(
            telegram_text(2, chat, "The kettle I bought last week stopped working"))).status == 200
        await s.settle()
        assert len(s.telegram.sent) == 2          # acknowledgement and restatement: one message
        restated = s.telegram.sent[-1]
        number = (await s.read(lambda st: st.list_cases()))[0].number
        assert number in restated["text"] and "kettle you bought" in restated["text"]
        keyboard = restated["reply_markup"]["inline_keyboard"]
        assert [row[0]["callback_data"] for row in keyboard] == ["yes", "no"]

        await s.post_telegram(telegram_press(3, chat, "yes"))
        await s.settle()
        offer = s.telegram.sent[-1]["reply_markup"]["inline_keyboard"]
        assert len(offer) == 3
        await s.post_telegram(telegram_press(4, chat, offer[0][0]["callback_data"]))
        await s.settle()
        await s.server.dispatcher.drain()
        assert sorted(s.telegram.answered) == ["cb3", "cb4"]
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert case.stage == "committed" and case.locale == "en"
        assert case.number in s.telegram.texts[-1]


async def test_telegram_checks_the_secret_token_and_the_body(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        assert (await s.post_telegram(telegram_text(1, 7, "hi"), secret="wrong")).status == 401
        assert (await s.post_telegram(b"not json")).status == 400
        assert (await s.post_telegram({"nothing": 1})).status == 400
        assert await s.read(inbox_count) == 0


async def test_telegram_redelivery_flood_limit_and_blocked_customer(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        update = telegram_text(10, 77, "我的包裹還沒到")
        await s.post_telegram(update)
        await s.post_telegram(update)
        s.telegram.fail("sendMessage", 429, body={"description": "Too Many Requests",
                                                   "parameters": {"retry_after": 7}})
        await s.settle()
        row = (await s.read(lambda st: st.pending_outbox()))[0]
        assert 6 <= row["next_try_ts"] - row["created_ts"] <= 60
        s.telegram.fail("sendMessage", 403, body={"description": "Forbidden: bot was blocked"})
        await s.read(lambda st: st.conn.execute("UPDATE outbox SET next_try_ts = 0"))
        await s.server.delivery.send_due()
        customer = await s.read(lambda st: st.customer("telegram:77"))
        assert customer["blocked"] == 1 and s.telegram.sent == []
        assert await s.read(lambda st: st.count_cases()) == 1


# ---------------------------------------------------------------- health


async def test_healthz_reports_store_dialog_and_channels(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        async with s.http.get(f"{s.url}/healthz") as r:
            body = await r.json()
        assert r.status == 200 and body["store"] == "ok"
        assert body["channels"] == {"web": "on", "line": "on", "telegram": "on"}
        assert len(body["dialog"]["version"]) == 12


async def test_the_signature_is_checked_over_the_bytes_as_received(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        event = line_event("text", USER, "01EV0000000000000000000099", text="壞了 😡")
        body = line_body(event)
        same_json = json.dumps(json.loads(body), ensure_ascii=True).encode()
        assert (await s.post_line(same_json, signature=sign(body))).status == 401
        assert (await s.post_line(body, signature=sign(body))).status == 200


# ---------------------------------------------------------------- polling, CLI, shutdown


async def test_telegram_long_polling_needs_no_webhook(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db", telegram_polling=True) as s:
        s.telegram.updates.append(telegram_text(500, 31, "我的包裹還沒到"))
        for _ in range(50):
            await s.server.dispatcher.drain()
            if await s.read(lambda st: st.count_cases()):
                break
            await asyncio.sleep(0.1)
        await s.server.delivery.send_due()
        assert any("包裹" in t for t in s.telegram.texts)
        assert (await s.post_telegram(telegram_text(501, 31, "hi"))).status == 409


async def test_heard_telegram_set_webhook_registers_url_and_secret(tmp_path: Path) -> None:
    stub = TelegramStub()
    await stub.start()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
           "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET, "TELEGRAM_API_URL": stub.base_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "telegram", "set-webhook",
        "https://support.example.com/webhooks/telegram", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    await stub.stop()
    assert process.returncode == 0, err.decode()
    assert stub.webhook["url"] == "https://support.example.com/webhooks/telegram"
    assert stub.webhook["secret_token"] == TELEGRAM_SECRET
    assert TELEGRAM_TOKEN not in out.decode() + err.decode()


async def test_shutdown_finishes_accepted_turns_and_flushes_replies(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = line_body(line_event("text", USER, "01EV0000000000000000000200",
                                    text="我買的耳機右耳沒有聲音"))
        assert (await s.post_line(body)).status == 200
        line = s.line
    # leaving the block shut the server down without anyone settling it first
    assert len(line.replies) == 1 and len(line.replies[0]["messages"]) == 2


def test_the_prepared_line_json_is_what_the_sdk_models_produce() -> None:
    from linebot.v3.messaging import (
        PostbackAction,
        PushMessageRequest,
        QuickReply,
        QuickReplyItem,
        ReplyMessageRequest,
        TextMessage,
    )

    from adapters.base import OutboxMessage, split_text
    from adapters.line import (
        DATA_LIMIT,
        LABEL_LIMIT,
        MESSAGES_PER_CALL,
        QUICK_REPLY_ITEMS,
        TEXT_LIMIT,
        render_json,
    )
    from bot.types import Button

    def render(rows: list[OutboxMessage]) -> list[TextMessage]:
        """The same messages built with the SDK's own models: the reference."""
        out = []
        for row in rows:
            parts = split_text(row.text or " ", TEXT_LIMIT, utf16=True)
            for i, part in enumerate(parts):
                quick = None
                if i == len(parts) - 1 and row.buttons:
                    quick = QuickReply(items=[QuickReplyItem(action=PostbackAction(
                        label=b.label[:LABEL_LIMIT], data=b.payload[:DATA_LIMIT],
                        display_text=b.label[:LABEL_LIMIT]))
                        for b in row.buttons[:QUICK_REPLY_ITEMS]])
                out.append(TextMessage(text=part, quick_reply=quick))
        return out[:MESSAGES_PER_CALL]

    messages = [
        OutboxMessage(1, "line:U", "line", "U", "您好" * 3000, (), "reply", "tok", 0, "k", 0),
        OutboxMessage(2, "line:U", "line", "U", "對嗎？",
                      (Button("對，沒錯", "yes"), Button("不太對，我再說一次好嗎" * 2, "no")),
                      "reply", "tok", 0, "k", 0),
    ]
    sdk_reply = ReplyMessageRequest(reply_token="tok", messages=render(messages)).to_dict()
    sdk_push = PushMessageRequest(to="U", messages=render(messages)).to_dict()
    ours = render_json(messages)
    assert sdk_reply == {"replyToken": "tok", "messages": ours, "notificationDisabled": False}
    assert sdk_push == {"to": "U", "messages": ours, "notificationDisabled": False}


def test_long_texts_are_split_at_the_limit_without_breaking_a_character() -> None:
    from adapters.base import split_text

    text = ("我買的加濕器壞了。" * 700) + "😡" * 3000
    parts = split_text(text, 5000, utf16=True)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert all(len(p.encode("utf-16-le")) // 2 <= 5000 for p in parts)
    assert all(not p.startswith("\udc00") for p in parts)      # no half emoji
    assert parts[0].endswith("。")                              # cut at a sentence end
    assert split_text("短", 4096) == ["短"]
