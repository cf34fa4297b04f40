"""The web chat's language hint at the API: the page sends its language with each message;
only the page's languages are taken, anything else is no hint (never an error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.channels import serving

ACK = {"zh-TW": "已經收到您的訊息", "zh-CN": "已经收到您的消息", "en": "Your case number is"}


@pytest.mark.parametrize(("hint", "kept", "replies_in"), [
    ("en", "en", "en"),
    ("EN", "en", "en"),
    ("zh-cn", "zh-CN", "zh-CN"),
    ("zh-TW", "zh-TW", "zh-TW"),
    ("fr", None, "zh-TW"),
    ("en-US<script>", None, "zh-TW"),
    ("en" * 40, None, "zh-TW"),
    (["en"], None, "zh-TW"),
    (7, None, "zh-TW"),
    (None, None, "zh-TW"),
])
async def test_only_the_pages_languages_are_taken_as_the_hint(
        tmp_path: Path, hint: Any, kept: str | None, replies_in: str) -> None:
    async with serving(tmp_path / "h.db") as s:
        async with s.http.post(f"{s.url}/chat/api/messages",
                               json={"text": "?", "language": hint}) as r:
            assert r.status == 200
            state = await r.json()
        customers = await s.read(lambda st: list(st.db.query("SELECT language FROM customers")))
    assert ACK[replies_in] in state["messages"][1]["text"]
    assert customers == [{"language": kept}]


async def test_the_text_itself_outweighs_the_hint(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        body = {"text": "我的滑鼠壞了", "language": "en"}
        async with s.http.post(f"{s.url}/chat/api/messages", json=body) as r:
            state = await r.json()
    assert ACK["zh-TW"] in state["messages"][1]["text"]
