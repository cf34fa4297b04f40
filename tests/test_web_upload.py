"""The web chat's upload button, through the real server: same limits, same answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from dialogs.loader import default_dialog_path, load_dialog
from tests.channels import Served, serving
from tests.test_files_channels import attachments, jpeg, kept_files

DIALOG = load_dialog(default_dialog_path())


async def upload(s: Served, data: bytes, name: str, *, header: bool = True,
                 language: str = "en", message_id: str = "u1") -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("id", message_id)
    form.add_field("language", language)
    form.add_field("file", data, filename=name, content_type="image/jpeg")
    headers = {"X-Heard-Chat": "1"} if header else {}
    async with s.http.post(f"{s.url}/chat/api/upload", data=form, headers=headers) as r:
        return r.status, (await r.json() if r.status == 200 else await r.text())


async def test_an_uploaded_photo_is_kept_and_acknowledged(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        status, state = await upload(s, jpeg(), "broken-mug.jpg")
        assert status == 200
        [row] = await s.read(attachments)
        assert (row["status"], row["mime"], row["name"]) == ("stored", "image/jpeg", "broken-mug.jpg")
        assert len(kept_files(tmp_path)) == 1
        bot = [m["text"] for m in state["messages"] if m["from"] == "bot"]
        assert DIALOG.text("photo_kept", "en", case_number=state["case"]["number"]) in bot
        assert [m["file"] for m in state["messages"] if m["from"] == "customer"] == ["image"]


async def test_an_upload_without_the_chat_header_is_refused_and_nothing_kept(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        status, _ = await upload(s, jpeg(), "a.jpg", header=False)
        assert status == 403
        assert await s.read(attachments) == [] and kept_files(tmp_path) == []


async def test_a_big_upload_gets_the_limit_and_a_record_entry(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db", image_max_mb=0.05, file_max_mb=0.05) as s:
        status, state = await upload(s, b"\xff\xd8\xff" + b"0" * 200_000, "huge.jpg",
                                     language="zh-TW")
        assert status == 200
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"]) == ("refused", "too_big")
        bot = [m["text"] for m in state["messages"] if m["from"] == "bot"]
        assert DIALOG.text("file_too_big", "zh-TW", limit="51 KB") in bot
        assert kept_files(tmp_path) == []


async def test_a_page_dressed_as_a_photo_is_refused(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        status, state = await upload(s, b"<html><script>alert(1)</script>", "cute.jpg")
        assert status == 200
        [row] = await s.read(attachments)
        assert (row["status"], row["reason"]) == ("refused", "type")
        assert DIALOG.text("file_type", "en") in [m["text"] for m in state["messages"]]
