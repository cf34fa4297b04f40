"""The Discord desk: a thread per handed-off case, agents answer customers from Discord.

The desk logic (`DiscordDesk`) talks to Discord only through a small `Gateway`, so it is
tested with fakes; `DiscordGateway` is the discord.py one. Everything the desk sends goes
through its own queue and worker: a slow or disconnected Discord never holds up a
customer's turn. In a case's thread:

    !claim            take the case          !resolve     done; the bot checks back later
    !handback CHOICE  give it to the bot     !note TEXT   an internal note
    !transfer NAME    give it to a colleague anything else is sent to the customer

`!handback` alone lists the choices (close, confirm, offer, listen) and which fit the case.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from bot.agents import ActionError, hand_back_choices
from bot.case import CaseState
from bot.desk import DeskService
from bot.files import FileStore
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)

DESK = "discord"
THREAD_NAME_LIMIT = 100
MESSAGE_LIMIT = 2000
COMMANDS = {"!claim": "claim", "!resolve": "resolve", "!handback": "hand_back",
            "!note": "note", "!transfer": "transfer", "!fulfilled": "fulfil"}
HAND_BACK_WORDS = {
    "close": "結案並排定回訪 close & follow up: the customer is told when we check back",
    "confirm": "確認承諾 confirm the remedy: one message with what was promised and by when",
    "offer": "再提供方案 offer remedies again: the customer picks one of the two",
    "listen": "等客人回覆 just listen: no message; the bot waits for the customer",
}


class Gateway(Protocol):
    """Posts never ping anyone (customer text can say @everyone or <@&role>), except our
    own alerts, posted with `ping=True`."""

    async def open_thread(self, name: str, text: str) -> str: ...
    async def post(self, thread_id: str, text: str, *, ping: bool = False) -> None: ...
    async def post_file(self, thread_id: str, name: str, data: bytes) -> None: ...


class DiscordDesk:
    name = DESK

    def __init__(self, gateway: Gateway, service: DeskService, writer: Writer,
                 console_url: str = "", files: FileStore | None = None) -> None:
        self.gateway, self.service, self.writer = gateway, service, writer
        self.files = files          # photos customers sent are posted in the thread
        self.console_url = console_url.rstrip("/")
        self._jobs: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work(), name="discord desk")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every queued post is done (tests)."""
        await self._jobs.join()

    # ------------------------------------------------------------ news from Heard

    async def case_escalated(self, case: CaseState) -> None:
        self._jobs.put_nowait(("open", (case,)))

    async def customer_wrote(self, case: CaseState, text: str) -> None:
        self._jobs.put_nowait(("post", (case.number, f"💬 客人 Customer: {text}")))
        self._jobs.put_nowait(("files", (case.number,)))

    async def customer_sent_file(self, case: CaseState) -> None:
        self._jobs.put_nowait(("files", (case.number,)))

    async def case_changed(self, case: CaseState, what: str, agent: str | None) -> None:
        words = {"claim": "認領了 claimed", "resolve": "處理完成 resolved",
                 "hand_back": f"交回機器人 handed back to the bot ({case.stage})",
                 "transfer": f"轉交給 transferred to {case.owner[6:]}",
                 "reply": None, "note": None, "commit": "設定了承諾 set the commitment"}
        said = words.get(what)
        if said:
            self._jobs.put_nowait(("post", (case.number, f"ℹ️ {agent} {said}")))

    async def sla_breached(self, case: CaseState) -> None:
        self._jobs.put_nowait(("alert", (case.number,
                                         f"⚠️ @here 案件 {case.number} 超過首次回覆時限仍未認領 "
                                         f"(first-response target missed, {case.severity})")))

    async def delivery_failed(self, case: CaseState, status: str, reason: str) -> None:
        said = "可能未送達 may not have arrived" if status == "unconfirmed" else "未能送達 not delivered"
        self._jobs.put_nowait(("post", (case.number,
                                        f"⚠️ @here 案件 {case.number} 給客人的回覆{said}："
                                        f"{reason[:300]}")))

    async def commitment_overdue(self, case: CaseState) -> None:
        self._jobs.put_nowait(("post", (case.number,
                                        f"⏰ 案件 {case.number} 的承諾已過期限仍未完成："
                                        f"{case.commitment} (commitment overdue)")))

    # ------------------------------------------------------------ the worker

    async def _work(self) -> None:
        while True:
            kind, args = await self._jobs.get()
            try:
                await self._do(kind, args)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("discord desk: %s failed; the console still has the case", kind)
            finally:
                self._jobs.task_done()

    async def _do(self, kind: str, args: tuple[Any, ...]) -> None:
        if kind == "open":
            case: CaseState = args[0]
            existing = await self.writer.read(lambda s: s.thread_for(DESK, case.number))
            if existing:
                await self.gateway.post(existing, self.opening(case))
                return
            name = f"{case.number} · {case.severity} · {(case.summary or '')[:60]}"
            thread = await self.gateway.open_thread(name[:THREAD_NAME_LIMIT], self.opening(case))
            await self.writer.run(lambda s: s.set_thread(DESK, case.number, thread,
                                                         self.service.clock()))
            await self._post_files(case.number)      # photos sent before the handoff
            return
        if kind == "files":
            await self._post_files(args[0])
            return
        number, text = args
        target = await self.writer.read(lambda s: s.thread_for(DESK, number))
        if target:
            await self.gateway.post(target, text[:MESSAGE_LIMIT], ping=kind == "alert")

    async def _post_files(self, number: str) -> None:
        """The case's kept files not posted yet, each as a file in the thread, then
        marked (a crash between the two posts one again, never loses one)."""
        if self.files is None:
            return
        files = self.files
        target = await self.writer.read(lambda s: s.thread_for(DESK, number))
        if not target:
            return
        rows = await self.writer.read(lambda s: s.unposted_attachments(DESK, number))
        for row in rows:
            data = await asyncio.to_thread(files.read, row["sha256"])
            await self.gateway.post_file(target, _file_name(row), data)
            await self.writer.run(partial(_posted, int(row["id"]), self.service.clock()))

    def opening(self, case: CaseState) -> str:
        signals = "; ".join(f"{s.name}: {', '.join(s.words)}" for s in case.signals) or "-"
        link = f"\n{self.console_url}/console" if self.console_url else ""
        text = (f"🆘 **{case.number}** · {case.severity} · {case.category or '-'} · "
                f"{case.channel}\n{case.summary or ' / '.join(case.account)}\n"
                f"Signals: {signals}\n"
                f"Reply here to answer the customer. !claim !resolve !handback !note !transfer"
                f"{link}")
        return text[:MESSAGE_LIMIT]

    # ------------------------------------------------------------ news from Discord

    async def on_message(self, thread_id: str, author: str, from_bot: bool, text: str) -> None:
        """A message in a thread. The bot's own posts (and webhooks) are never relayed."""
        if from_bot or not text.strip():
            return
        number = await self.writer.read(lambda s: s.case_for_thread(DESK, thread_id))
        if number is None:
            return
        word, _, rest = text.strip().partition(" ")
        action = COMMANDS.get(word.lower())
        args: dict[str, Any] = {}
        if action is None:
            action, args = "reply", {"text": text}
        elif action == "note":
            args = {"text": rest}
        elif action == "transfer":
            args = {"to_agent": rest.strip()}
        elif action == "hand_back":
            if not rest.strip():
                await self._hand_back_choices(number)
                return
            args = {"then": rest.strip().lower()}
        try:
            await self.service.act(number, author, action, **args)
        except ActionError as exc:
            self._jobs.put_nowait(("post", (number, f"⚠️ {exc}")))

    async def _hand_back_choices(self, number: str) -> None:
        """A bare `!handback`: what the bot can do next, and which choices fit this case."""
        case = await self.writer.read(lambda s: s.get_case(number))
        if case is None:
            return
        lines = ["交回機器人後要做什麼？ What should the bot do next?"]
        for then, why in hand_back_choices(case, self.service.clock()).items():
            lines.append(f"`!handback {then}` {HAND_BACK_WORDS[then]}"
                         + (f" — 不適用 not now: {why}" if why else ""))
        self._jobs.put_nowait(("post", (number, "\n".join(lines))))


def _posted(attachment_id: int, at: datetime, store: Store) -> None:
    store.mark_posted(DESK, attachment_id, at)


def _file_name(row: dict[str, Any]) -> str:
    """A name Discord shows and that says the type the bytes were checked to be."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
                 "image/gif": "gif", "video/mp4": "mp4", "application/pdf": "pdf"}
    stem = re.sub(r"[^\w.-]", "_", (row["name"] or "").rsplit(".", 1)[0])[:60] or f"file-{row['id']}"
    return f"{stem}.{extension.get(row['mime'] or '', 'bin')}"


class DiscordGateway:
    """discord.py behind the `Gateway` interface, run inside our event loop."""

    def __init__(self, token: str, channel_id: int) -> None:
        import discord

        intents = discord.Intents.default()
        intents.message_content = True
        self.token, self.channel_id = token, channel_id
        # nothing Heard posts pings anyone unless it says so (`post(..., ping=True)`)
        self.client = discord.Client(intents=intents,
                                     allowed_mentions=discord.AllowedMentions.none())
        self.desk: DiscordDesk | None = None
        self._task: asyncio.Task[None] | None = None

        @self.client.event
        async def on_message(message: Any) -> None:
            if self.desk is None or not isinstance(message.channel, discord.Thread):
                return
            from_bot = bool(message.author.bot or message.webhook_id is not None
                            or message.author == self.client.user)
            await self.desk.on_message(str(message.channel.id), message.author.name, from_bot,
                                       message.content)

    @property
    def state(self) -> str:
        return "connected" if self.client.is_ready() else "connecting"

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="discord")

    async def _run(self) -> None:
        delay = 5.0
        while True:
            try:
                await self.client.start(self.token, reconnect=True)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("discord: %s; trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300)

    async def stop(self) -> None:
        if self._task is not None:
            await self.client.close()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def open_thread(self, name: str, text: str) -> str:
        import discord

        await asyncio.wait_for(self.client.wait_until_ready(), timeout=30)
        channel = self.client.get_channel(self.channel_id) or await self.client.fetch_channel(
            self.channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise RuntimeError(f"Discord channel {self.channel_id} is not a text channel")
        thread = await channel.create_thread(name=name, type=discord.ChannelType.public_thread)
        await thread.send(text, allowed_mentions=discord.AllowedMentions.none())
        return str(thread.id)

    async def post(self, thread_id: str, text: str, *, ping: bool = False) -> None:
        """Customer text is relayed with every mention switched off; only our own alerts
        (`ping=True`) may reach @here/@everyone, and never a user or a role."""
        import discord

        await asyncio.wait_for(self.client.wait_until_ready(), timeout=30)
        thread = self.client.get_channel(int(thread_id)) or await self.client.fetch_channel(
            int(thread_id))
        mentions = (discord.AllowedMentions(everyone=True, users=False, roles=False,
                                            replied_user=False)
                    if ping else discord.AllowedMentions.none())
        await thread.send(text, allowed_mentions=mentions)  # type: ignore[union-attr]

    async def post_file(self, thread_id: str, name: str, data: bytes) -> None:
        """A photo or file the customer sent, as a Discord attachment (discord.File)."""
        import io

        import discord

        await asyncio.wait_for(self.client.wait_until_ready(), timeout=30)
        thread = self.client.get_channel(int(thread_id)) or await self.client.fetch_channel(
            int(thread_id))
        await thread.send(file=discord.File(io.BytesIO(data), filename=name),  # type: ignore[union-attr]
                          allowed_mentions=discord.AllowedMentions.none())
