"""Photos and files on LINE and Telegram: real SDKs against the stub platforms, fetched
before the turn, kept under the data folder, answered in the customer's language."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from dialogs.loader import default_dialog_path, load_dialog
from storage.store import Store
from tests.channels import Served, fixture, line_body, line_event, serving, telegram_text

USER = "U206d25c2ea6bd87c17655609a1c37cb8"
DIALOG = load_dialog(default_dialog_path())


def jpeg(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def line_media(event_id: str, message: dict[str, Any]) -> bytes:
    event = line_event("image", USER, event_id)
    event["message"] = message
    return line_body(event)


def attachments(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT kind, status, reason, sha256, mime, name, case_number "
                              "FROM attachments ORDER BY id").fetchall()
    keys = ("kind", "status", "reason", "sha256", "mime", "name", "case_number")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def kept_files(root: Path) -> list[Path]:
    return [p for p in (root / "files").rglob("*") if p.is_file()]


async def told(s: Served) -> list[str]:
    await s.settle()
    return s.line.texts


# ---------------------------------------------------------------- LINE


async def test_a_line_photo_is_fetched_kept_and_acknowledged(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        s.line.contents["354718705033693859"] = jpeg()
        assert (await s.post_line(json.dumps(fixture("line/image.json")).encode())).status == 200
        texts = await told(s)
        assert s.line.fetched == ["354718705033693859"]
        [row] = await s.read(attachments)
        assert (row["kind"], row["status"], row["mime"]) == ("image", "stored", "image/jpeg")
        [path] = kept_files(tmp_path)
        assert path.name == row["sha256"] and Image.open(path).size == (32, 24)
        number = row["case_number"]
        assert DIALOG.text("photo_kept", "zh-TW", case_number=number) in texts
        case = await s.read(lambda st: st.get_case(number))
        assert len(case.evidence) == 1


async def test_a_line_photo_no_longer_on_line_gets_asked_for_again(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        await s.post_line(line_media("01EVF0000000000000000000001",
                                     {"type": "image", "id": "777", "quoteToken": "q",
                                      "contentProvider": {"type": "line"}}))
        texts = await told(s)
        assert DIALOG.text("file_gone", "zh-TW") in texts
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"]) == ("refused", "expired")
        events = await s.read(lambda st: st.events(row["case_number"]))
        assert any(e["kind"] == "attachment_refused" for e in events)


async def test_a_line_file_over_the_limit_is_not_even_downloaded(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db", file_max_mb=5) as s:
        s.line.contents["888"] = b"%PDF-1.7 ..."
        await s.post_line(line_media("01EVF0000000000000000000002",
                                     {"type": "file", "id": "888", "fileName": "receipt.pdf",
                                      "fileSize": 9 * 1024 * 1024}))
        texts = await told(s)
        assert s.line.fetched == [] and kept_files(tmp_path) == []
        assert DIALOG.text("file_too_big", "zh-TW", limit="5 MB") in texts
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"], row["name"]) == ("refused", "too_big", "receipt.pdf")


async def test_a_line_file_of_a_forbidden_type_is_refused_by_its_bytes(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        s.line.contents["999"] = b"<html><script>alert(1)</script></html>"
        await s.post_line(line_media("01EVF0000000000000000000003",
                                     {"type": "file", "id": "999", "fileName": "photo.jpg",
                                      "fileSize": 39}))
        texts = await told(s)
        assert DIALOG.text("file_type", "zh-TW") in texts
        assert kept_files(tmp_path) == []
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"]) == ("refused", "type")


async def test_a_line_outage_while_fetching_is_tried_again(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        s.server.dispatcher.fetch.wait = 0.01       # type: ignore[union-attr]
        s.line.contents["354718705033693859"] = jpeg()
        s.line.fail("content", 500)
        await s.post_line(json.dumps(fixture("line/image.json")).encode())
        await told(s)
        assert s.line.fetched == ["354718705033693859"] * 2
        [row] = await s.read(attachments)
        assert row["status"] == "stored"


async def test_a_sticker_is_answered_not_stored_and_the_photo_still_is(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        s.line.contents["354718705033693859"] = jpeg()
        for name in ("sticker", "image"):
            await s.post_line(json.dumps(fixture(f"line/{name}.json")).encode())
        texts = await told(s)
        assert texts[0] == DIALOG.text("sticker", "zh-TW")
        assert [r["kind"] for r in await s.read(attachments)] == ["image"]
        assert await s.read(lambda st: st.count_cases()) == 1


# ---------------------------------------------------------------- Telegram


def telegram_photo(update_id: int, chat: int, file_id: str, caption: str | None = None,
                   language: str = "en") -> dict[str, Any]:
    update = telegram_text(update_id, chat, "")
    message = update["message"]
    del message["text"]
    message["from"]["language_code"] = language
    message["photo"] = [{"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90,
                         "height": 67, "file_size": 1200},
                        {"file_id": file_id, "file_unique_id": "b", "width": 800, "height": 600}]
    if caption is not None:
        message["caption"] = caption
    return update


async def test_a_telegram_photo_with_a_caption_is_kept_and_the_story_goes_on(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        s.telegram.files["BIG"] = jpeg((80, 60))
        update = telegram_photo(501, 4242, "BIG", caption="The mug arrived with a broken handle")
        assert (await s.post_telegram(update)).status == 200
        await s.settle()
        assert s.telegram.downloads == ["photos/BIG"]          # the largest size only
        [row] = await s.read(attachments)
        assert row["status"] == "stored" and Image.open(kept_files(tmp_path)[0]).size == (80, 60)
        said = "\n".join(s.telegram.texts)
        assert DIALOG.text("photo_kept", "en", case_number=row["case_number"]) in said
        case = await s.read(lambda st: st.get_case(row["case_number"]))
        assert case.stage == "confirming" and "mug" in (case.summary or "")


async def test_a_telegram_document_too_big_for_the_limit_stops_mid_download(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db", file_max_mb=0.01) as s:
        s.telegram.files["DOC"] = b"%PDF-1.7\n" + b"0" * 40_000
        update = telegram_text(502, 4243, "")
        message = update["message"]
        del message["text"]
        message["document"] = {"file_id": "DOC", "file_unique_id": "d", "file_name": "scan.pdf",
                               "mime_type": "application/pdf"}
        await s.post_telegram(update)
        await s.settle()
        assert kept_files(tmp_path) == []
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"], row["name"]) == ("refused", "too_big", "scan.pdf")
        assert DIALOG.text("file_too_big", "en", limit="10 KB") in "\n".join(s.telegram.texts)


async def test_a_telegram_sticker_is_answered_and_not_stored(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        update = copy.deepcopy(telegram_text(503, 4244, ""))
        del update["message"]["text"]
        update["message"]["sticker"] = {"file_id": "STK", "file_unique_id": "k", "width": 512,
                                        "height": 512, "is_animated": False, "is_video": False,
                                        "type": "regular"}
        await s.post_telegram(update)
        await s.settle()
        assert s.telegram.texts == [DIALOG.text("sticker", "en")]
        assert s.telegram.downloads == [] and await s.read(attachments) == []


async def test_a_photo_accepted_before_a_crash_is_fetched_after_the_restart(tmp_path: Path) -> None:
    """The inbox keeps the event with its pending photo; the restart fetches and answers."""
    from datetime import UTC, datetime

    from aiohttp import web

    from bot.server import HeardServer
    from bot.turns import event_key
    from bot.types import Attachment, Incoming, incoming_to_dict
    from dialogs.loader import DialogHolder
    from tests.channels import settings_for
    from tests.stubs import LineStub, TelegramStub

    db = tmp_path / "h.db"
    now = datetime.now(UTC)
    kept = Incoming("line", USER, "01EVCRASHPHOTO000000000001", now, payload="media:image:42",
                    attachment=Attachment(kind="image", ref="42"))
    store = Store.open(db)
    with store.transaction():
        store.add_inbox("line", event_key(kept), kept.conversation_key, incoming_to_dict(kept), now)
    store.close()
    line, telegram = LineStub(), TelegramStub()
    await line.start()
    await telegram.start()
    line.contents["42"] = jpeg()
    server = HeardServer(settings_for(db, line, telegram), DialogHolder(default_dialog_path()),
                         background=False)
    runner = web.AppRunner(server.app())
    await runner.setup()                           # start-up: recover the inbox
    try:
        await server.dispatcher.drain()
        await server.delivery.send_due()
        assert line.fetched == ["42"]
        [row] = await server.writer.read(attachments)
        assert row["status"] == "stored" and len(kept_files(tmp_path)) == 1
        assert any(DIALOG.text("photo_kept", "zh-TW", case_number=row["case_number"]) == text
                   for _, text in line.received)
    finally:
        await runner.cleanup()
        await line.stop()
        await telegram.stop()
