"""The Discord desk's logic with a fake gateway (no Discord connection)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.discord_desk import DiscordDesk
from tests.channels import Served, line_body, line_event, serving

USER = "Udiscord00000000000000000000000001"


class FakeGateway:
    def __init__(self) -> None:
        self.threads: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}
        self.pings: list[bool] = []
        self.hang = False

    async def open_thread(self, name: str, text: str) -> str:
        if self.hang:
            await asyncio.sleep(3600)
        thread = str(1000 + len(self.threads))
        self.threads[thread] = [text]
        self.names[thread] = name
        return thread

    async def post(self, thread_id: str, text: str, *, ping: bool = False) -> None:
        self.threads[thread_id].append(text)
        self.pings.append(ping)


async def with_desk(s: Served) -> tuple[DiscordDesk, FakeGateway]:
    gateway = FakeGateway()
    desk = DiscordDesk(gateway, s.server.desk, s.server.writer, "https://support.example.com")
    s.server.desk.desks.append(desk)
    desk.start()
    return desk, gateway


async def say(s: Served, n: int, text: str) -> None:
    await s.post_line(line_body(line_event("text", USER, f"01DISCORD{n:017d}", text=text)))
    await s.settle()


async def test_a_handed_off_case_gets_a_thread_and_the_thread_answers_the_customer(
        tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        desk, gateway = await with_desk(s)
        await say(s, 1, "我買的吹風機壞了，我要去PTT爆料")
        await desk.idle()
        (thread, posts), = gateway.threads.items()
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert gateway.names[thread].startswith(case.number)
        assert "PTT" in posts[0] or "ptt" in posts[0]
        assert "threat" in posts[0] and "https://support.example.com/console" in posts[0]

        await say(s, 2, "到底有沒有人在？")                      # the customer, into the thread
        await desk.idle()
        assert posts[-1].endswith("到底有沒有人在？")

        await desk.on_message(thread, "amy", False, "!claim")
        await desk.on_message(thread, "amy", False, "您好，我是 Amy，今天會幫您換新的。")
        await desk.on_message(thread, "heard-bot", True, "💬 客人 Customer: echo")   # our own post
        await desk.on_message(thread, "amy", False, "!note 客人在意 PTT")
        await s.settle()
        texts = [m["text"] for p in s.line.pushes for m in p["messages"]]
        assert texts == ["您好，我是 Amy，今天會幫您換新的。"]
        events = [e["kind"] for e in await s.read(lambda st: st.events(case.number))]
        assert events.count("note") == 1 and "claimed" in events

        await desk.on_message(thread, "ben", False, "我來回")       # not ben's case
        await desk.idle()
        assert "belongs to amy" in posts[-1]
        await desk.on_message(thread, "amy", False, "!resolve")
        await desk.idle()
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert case.stage == "committed" and "resolved" in posts[-1]
        await desk.stop()


async def test_a_stuck_discord_never_holds_up_the_customer(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        desk, gateway = await with_desk(s)
        gateway.hang = True
        await asyncio.wait_for(say(s, 3, "我要找真人客服"), timeout=5)
        await asyncio.wait_for(say(s, 4, "我的包裹也還沒到"), timeout=5)
        # the handoff message and the "passed on" for the next message went out at once
        texts = [m["text"] for r in s.line.replies for m in r["messages"]]
        assert len(s.line.replies) == 2 and "轉給" in texts[-2] and "轉告" in texts[-1], texts
        await desk.stop()


async def test_handback_asks_what_the_bot_does_next_then_does_it(tmp_path: Path) -> None:
    async with serving(tmp_path / "h.db") as s:
        desk, gateway = await with_desk(s)
        await say(s, 5, "我買的耳機有雜音，我要找主管處理")
        await desk.idle()
        (thread, posts), = gateway.threads.items()
        await desk.on_message(thread, "amy", False, "!claim")
        await desk.on_message(thread, "amy", False, "您好，我是 Amy，雜音的問題我來處理。")
        await s.settle()
        pushed = len(s.line.pushes)

        await desk.on_message(thread, "amy", False, "!handback")     # no choice: the choices
        await desk.idle()
        menu = posts[-1]
        for then in ("close", "confirm", "offer", "listen"):
            assert f"!handback {then}" in menu
        confirm = next(line for line in menu.splitlines() if "!handback confirm" in line)
        assert "no commitment" in confirm                          # nothing promised yet
        await desk.on_message(thread, "amy", False, "!handback later")
        await desk.idle()
        assert "close, confirm, offer, listen" in posts[-1]
        await desk.on_message(thread, "amy", False, "!handback confirm")
        await desk.idle()
        assert "no commitment to confirm" in posts[-1]
        await s.settle()
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert case.stage == "handoff" and len(s.line.pushes) == pushed   # nothing happened

        await desk.on_message(thread, "amy", False, "!handback offer")
        await desk.idle()
        await s.settle()
        case = (await s.read(lambda st: st.list_cases()))[0]
        assert case.stage == "offering" and "handed back" in posts[-1]
        (message,) = s.line.pushes[-1]["messages"]
        assert "如果您想換個處理方式" in message["text"]
        assert [i["action"]["data"] for i in message["quickReply"]["items"]][2] == "human"
        await desk.stop()
