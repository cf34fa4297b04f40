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


async def test_the_console_serves_a_pdf_as_a_download_to_agents_only(tmp_path: Path) -> None:
    from tests.test_console import add_agent, sign_in

    add_agent(tmp_path / "h.db", "amy")
    async with serving(tmp_path / "h.db") as s:
        pdf = b"%PDF-1.4\n<script>alert(1)</script>\n%%EOF"
        status, state = await upload(s, pdf, "invoice-2026.pdf")
        assert status == 200
        number = state["case"]["number"]
        http, csrf = await sign_in(s, "amy")
        async with http.get(f"{s.url}/console/api/cases/{number}",
                            headers={"X-CSRF-Token": csrf}) as r:
            case = await r.json()
        [sent] = [a for m in case["messages"] for a in m["attachments"]]
        assert (sent["kind"], sent["status"], sent["name"]) == ("file", "stored", "invoice-2026.pdf")
        async with http.get(s.url + sent["url"]) as r:
            assert r.status == 200 and await r.read() == pdf
            assert r.headers["Content-Type"] == "application/octet-stream"
            assert r.headers["Content-Disposition"].startswith("attachment;")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        await http.close()
        async with s.http.get(s.url + sent["url"]) as r:       # no session
            assert r.status == 401
        async with s.http.get(f"{s.url}/console/files/999") as r:
            assert r.status == 401


async def test_a_photo_bigger_than_a_json_body_may_be_is_still_kept(tmp_path: Path) -> None:
    """HEARD_MAX_BODY bounds JSON requests; a photo is bound by HEARD_IMAGE_MAX_MB."""
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3)).save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > 1_000_000
    async with serving(tmp_path / "h.db", max_body=1_000_000) as s:
        status, _ = await upload(s, out.getvalue(), "noise.jpg")
        assert status == 200
        [row] = await s.read(attachments)
        assert row["status"] == "stored"
