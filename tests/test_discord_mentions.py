"""Customer text relayed to Discord pings nobody (issue 13, item 13): `@everyone`, `@here`
and role mentions a customer types arrive as text; only our own alerts may ping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord_desk import DiscordGateway
from tests.channels import Clock, line_body, line_event, serving
from tests.test_discord_desk import with_desk

HOSTILE = "@everyone @here <@&1234567890> <@987654321> 你們的產品害我被電到"


class FakeThread:
    """Stands in for a discord.py thread: records what `send` was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, text: str, **options: Any) -> None:
        self.sent.append((text, options))


def _mentions(options: dict[str, Any]) -> tuple[bool, bool, bool, bool]:
    allowed: discord.AllowedMentions = options["allowed_mentions"]
    return bool(allowed.everyone), bool(allowed.users), bool(allowed.roles), bool(
        allowed.replied_user)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> tuple[DiscordGateway, FakeThread]:
    gateway = DiscordGateway("not-a-real-token", 42)   # the real client, never connected
    thread = FakeThread()

    async def ready() -> None:
        return None

    monkeypatch.setattr(gateway.client, "wait_until_ready", ready)
    monkeypatch.setattr(gateway.client, "get_channel", lambda _id: thread)
    return gateway, thread


async def test_customer_text_is_posted_with_every_mention_off(
        gateway: tuple[DiscordGateway, FakeThread]) -> None:
    discord_gateway, thread = gateway
    await discord_gateway.post("7", f"💬 客人 Customer: {HOSTILE}")
    [(text, options)] = thread.sent
    assert HOSTILE in text
    assert _mentions(options) == (False, False, False, False)
    assert discord_gateway.client.allowed_mentions is not None
    assert not discord_gateway.client.allowed_mentions.everyone     # the client's default too


async def test_only_our_alerts_may_ping_here(gateway: tuple[DiscordGateway, FakeThread]) -> None:
    discord_gateway, thread = gateway
    await discord_gateway.post("7", "⚠️ @here 案件逾時", ping=True)
    [(_, options)] = thread.sent
    assert _mentions(options) == (True, False, False, False)   # @here yes; users, roles no


async def test_the_desk_pings_for_an_sla_breach_and_never_for_the_customer(
        tmp_path: Path) -> None:
    clock = Clock()
    clock.now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)          # Tuesday 11:00 in Taipei
    async with serving(tmp_path / "h.db", clock=clock) as s:
        desk, fake = await with_desk(s)
        user = "Umention000000000000000000000001"
        await s.post_line(line_body(line_event("text", user, "01MENTION0000000000000001",
                                               text="耳機壞了，再不處理我就找消保官")))
        await s.settle()
        await s.post_line(line_body(line_event("text", user, "01MENTION0000000000000002",
                                               text=HOSTILE)))
        await s.settle()
        await desk.idle()
        clock.now += timedelta(hours=5)
        assert await s.server.scheduler.tick() == 1
        await asyncio.sleep(0)
        await desk.idle()
        (posts,) = fake.threads.values()
        customer = [i for i, p in enumerate(posts[1:]) if HOSTILE in p]
        alerts = [i for i, p in enumerate(posts[1:]) if "@here 案件" in p]
        assert customer and alerts
        assert [fake.pings[i] for i in customer] == [False]
        assert [fake.pings[i] for i in alerts] == [True]
        await desk.stop()
