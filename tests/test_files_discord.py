"""Photos in the Discord desk (fake gateway): posted in the case's thread, each once."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from adapters.discord_desk import DiscordDesk
from bot.files import FileStore
from tests.channels import Served, line_body, line_event, serving
from tests.test_discord_desk import FakeGateway

USER = "Udiscordfiles000000000000000000001"


class FileGateway(FakeGateway):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str, bytes]] = []

    async def post_file(self, thread_id: str, name: str, data: bytes) -> None:
        self.files.append((thread_id, name, data))


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), colour).save(out, "JPEG")
    return out.getvalue()


async def photo(s: Served, n: int, data: bytes) -> None:
    event = line_event("image", USER, f"01DISCFILE{n:016d}")
    event["message"] = {"type": "image", "id": f"m{n}", "quoteToken": "q",
                        "contentProvider": {"type": "line"}}
    s.line.contents[f"m{n}"] = data
    await s.post_line(line_body(event))
    await s.settle()


async def test_photos_go_to_the_cases_thread_before_and_after_the_handoff(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        gateway = FileGateway()
        desk = DiscordDesk(gateway, s.server.desk, s.server.writer,
                           files=FileStore(tmp_path / "files"))
        s.server.desk.desks.append(desk)
        desk.start()
        await photo(s, 1, jpeg((200, 0, 0)))                # before anyone is involved
        await desk.idle()
        assert gateway.threads == {} and gateway.files == []

        await s.post_line(line_body(line_event("text", USER, "01DISCFILE9000000000000001",
                                               text="我要找真人客服，吹風機冒煙了")))
        await s.settle()
        await desk.idle()
        (thread,) = gateway.threads
        assert [(t, name.endswith(".jpg")) for t, name, _ in gateway.files] == [(thread, True)]

        await photo(s, 2, jpeg((0, 0, 200)))                # in handoff: the bot stays quiet
        await desk.idle()
        assert len(gateway.files) == 2
        first, second = (Image.open(io.BytesIO(data)).getpixel((5, 5)) for _, _, data in gateway.files)
        assert first[0] > 150 and second[2] > 150           # each photo, in order, once
        await desk.stop()
