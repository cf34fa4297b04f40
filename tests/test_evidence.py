"""Photos and files: checked by their bytes, kept by content, counted as evidence on the
case, refused with an answer that says why (bot/files.py, bot/engine/evidence.py)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.files import FileStore, Limits, Refused, checked, keep, sniff
from bot.turns import handle_incoming
from bot.types import Attachment, Incoming, Profile
from dialogs.model import Dialog
from storage.store import Store
from tests.test_handoff import Chat


def photo(width: int = 64, height: int = 48, fmt: str = "JPEG", gps: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 40))
    out = io.BytesIO()
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"                       # Make
        exif[0x8825] = {1: "N", 2: (25.0, 2.0, 0.0)}      # GPSInfo: latitude
    image.save(out, fmt, **({"exif": exif.tobytes()} if gps else {}))
    return out.getvalue()


def stored(files: FileStore, data: bytes, kind: str = "image") -> Attachment:
    return keep(files, Attachment(kind=kind, ref="m1"), data, Limits())


# ---------------------------------------------------------------- the bytes decide


def test_types_are_told_by_their_bytes_not_their_names() -> None:
    assert sniff(photo()) == "image/jpeg"
    assert sniff(photo(fmt="PNG")) == "image/png"
    assert sniff(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff(b"\x00\x00\x00\x18ftypmp42....") == "video/mp4"
    assert sniff(b"<html><script>alert(1)</script>") is None


def test_an_image_is_re_encoded_without_its_gps_position(tmp_path: Path) -> None:
    original = photo(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)   # the phone wrote it
    kept = stored(FileStore(tmp_path), original)
    assert kept.status == "stored" and kept.mime == "image/jpeg"
    data = FileStore(tmp_path).read(kept.sha256 or "")
    again = Image.open(io.BytesIO(data))
    assert again.size == (64, 48) and not again.getexif()
    assert (tmp_path / kept.sha256[:2] / kept.sha256).is_file()      # type: ignore[index]


def test_html_or_a_script_dressed_as_a_photo_is_refused(tmp_path: Path) -> None:
    for data in (b"<svg onload=alert(1)>", b"\xff\xd8\xff<html>not really a jpeg</html>",
                 b"MZ\x90\x00 a windows program"):
        kept = stored(FileStore(tmp_path), data)
        assert (kept.status, kept.reason) == ("refused", "type")
    assert not list(tmp_path.rglob("*"))           # nothing was written


def test_a_file_over_the_limit_is_refused_with_the_limit(tmp_path: Path) -> None:
    data = photo(400, 400)
    kept = keep(FileStore(tmp_path), Attachment(kind="image"), data, Limits(image=len(data) - 1))
    assert (kept.status, kept.reason, kept.limit) == ("refused", "too_big", len(data) - 1)
    with pytest.raises(Refused):
        checked(b"audio" * 10, "audio", Limits())


def test_the_same_photo_twice_is_kept_once(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    first, second = stored(files, photo()), stored(files, photo())
    assert first.sha256 == second.sha256
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


# ---------------------------------------------------------------- in the conversation


class PhotoChat(Chat):
    def attach(self, attachment: Attachment, text: str = "", language: str | None = None):
        self.n += 1
        self.now += timedelta(minutes=1)
        incoming = Incoming("line", "U1", f"e{self.n}", self.now, text=text,
                            payload=f"media:{attachment.kind}:{self.n}", attachment=attachment,
                            profile=Profile(language_code=language))
        with self.store.transaction():
            result = handle_incoming(self.store, self.dialog, incoming, self.now)
        assert result is not None
        return result.step


PHOTO = Attachment(kind="image", ref="1", status="stored", sha256="a" * 64, mime="image/jpeg",
                   size=1234)


@pytest.mark.parametrize(("language", "words"), [("zh-TW", "照片收到了"), ("zh-CN", "照片收到了"),
                                                 ("en", "Got your photo")])
def test_a_photo_first_opens_a_case_and_asks_for_the_story(dialog: Dialog, language: str,
                                                           words: str) -> None:
    step = PhotoChat(dialog).attach(PHOTO, language=language)
    case = step.case
    assert case is not None and case.stage == "listening" and len(case.evidence) == 1
    texts = [o.text for o in step.outgoing]
    assert len(texts) == 3 and case.number in texts[0]
    assert texts[1].startswith(words) and case.number in texts[1]
    assert texts[2] == dialog.text("evidence_ask", language)
    assert [e.kind for e in step.events].count("evidence") == 1


def test_a_photo_mid_story_is_counted_and_the_question_stays(dialog: Dialog) -> None:
    chat = PhotoChat(dialog)
    asked = chat.send("我買的檯燈燈泡一直閃")
    assert asked.case.stage == "confirming"
    step = chat.attach(PHOTO)
    assert step.case.stage == "confirming" and len(step.case.evidence) == 1
    assert [o.text for o in step.outgoing] == [dialog.text("photo_kept", "zh-TW",
                                                           case_number=asked.case.number)]
    assert chat.send(payload="yes").case.stage == "offering"      # the story goes on


def test_a_caption_tells_the_story_beside_the_photo(dialog: Dialog) -> None:
    step = PhotoChat(dialog).attach(PHOTO, text="收到的杯子破了一個缺口")
    assert step.case.stage == "confirming" and step.case.evidence
    assert step.outgoing[1].text.startswith("照片收到了")
    assert any("杯子" in o.text for o in step.outgoing[2:])


def test_in_handoff_the_bot_stays_quiet_but_the_photo_is_recorded(dialog: Dialog) -> None:
    chat = PhotoChat(dialog)
    chat.send("我要找真人客服")
    chat.send("還要多久")
    step = chat.attach(PHOTO)
    assert step.case.stage == "handoff" and step.outgoing == []
    assert len(step.case.evidence) == 1
    rows = chat.store.case_attachments(step.case.number)
    assert [(r["kind"], r["status"], r["sha256"]) for r in rows] == [("image", "stored", "a" * 64)]


@pytest.mark.parametrize(("reason", "key"), [("too_big", "file_too_big"), ("type", "file_type"),
                                             ("expired", "file_gone")])
def test_a_refused_file_gets_a_clear_answer_and_a_case_event(dialog: Dialog, reason: str,
                                                             key: str) -> None:
    chat = PhotoChat(dialog)
    chat.send("我買的檯燈燈泡一直閃")
    refused = Attachment(kind="file", ref="9", name="video.mov", status="refused",
                         reason=reason, size=80_000_000, limit=20 * 1024 * 1024)
    step = chat.attach(refused)
    assert step.case.evidence == []
    said = step.outgoing[0].text
    assert said == dialog.text(key, "zh-TW", limit="20 MB")
    if reason == "too_big":
        assert "20 MB" in said
    events = [e for e in step.events if e.kind == "attachment_refused"]
    assert events and events[0].data["reason"] == reason
    rows = chat.store.case_attachments(step.case.number)
    assert [(r["status"], r["reason"], r["name"]) for r in rows] == [("refused", reason, "video.mov")]


def test_a_sticker_is_answered_and_not_stored(dialog: Dialog) -> None:
    chat = PhotoChat(dialog)
    sticker = Attachment(kind="sticker", ref="52002738", status="ignored")
    chat.n += 1
    incoming = Incoming("line", "U1", "s1", chat.now, payload="media:sticker:1", attachment=sticker)
    with chat.store.transaction():
        result = handle_incoming(chat.store, dialog, incoming, chat.now)
    assert result is not None and result.step.case is None
    assert [o.text for o in result.step.outgoing] == [dialog.text("sticker", "zh-TW")]
    assert chat.store.count_cases() == 0
    assert chat.store.conn.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0


def test_the_attachment_survives_the_inbox(dialog: Dialog) -> None:
    from bot.types import incoming_from_dict, incoming_to_dict

    incoming = Incoming("web", "v", "e", Chat(dialog).now, attachment=replace(PHOTO, name="a.jpg"))
    assert incoming_from_dict(incoming_to_dict(incoming)) == incoming
    assert Store.open(":memory:").schema_version >= 7
