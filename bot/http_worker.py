"""An HTTP worker of `heard serve --workers N` (see bot/workers.py): `heard serve`'s server
without the turns. Events are kept in the inbox and the turn worker woken; what it sends
back starts delivery, answers waiting web chat requests and tells the desks."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.workers import Wake, owner

if TYPE_CHECKING:
    from bot.server import HeardServer

log = logging.getLogger(__name__)

AHEAD = 48     # events a worker keeps ahead of the turn worker before webhooks wait a little


class HttpLink:
    def __init__(self, server: HeardServer, wake: Wake, index: int, count: int) -> None:
        self.server, self.wake, self.index, self.count = server, wake, index, count
        self._tasks: set[asyncio.Task[None]] = set()
        self.turns = "starting"         # until the turn worker says it is ready
        server.dispatcher.remote = self.accepted
        server.dispatcher.ahead = AHEAD
        server.delivery.owns = self.owns

    def owns(self, conversation_key: str) -> bool:
        return owner(conversation_key, self.count) == self.index

    def start(self) -> None:
        self.wake.listen(self.heard)
        self.wake.send({"look": 1, "hello": 1})   # events kept while no turn worker listened

    def stop(self) -> None:
        self.wake.close()

    def accepted(self) -> None:
        self.wake.send({"look": 1})

    def reloaded(self) -> None:
        self.wake.send({"reload": 1})

    def heard(self, message: dict[str, Any]) -> None:
        server = self.server
        if "ready" in message:
            self.turns = "ready" if message["ready"] else "starting"
        key = message.get("k")
        if isinstance(key, str) and self.owns(key) and server.background:
            server.delivery.deliver(key)
        if message.get("look") and server.background:
            server.delivery.poke()
        inbox_id = message.get("i")
        if isinstance(inbox_id, int):
            server.dispatcher.turned(inbox_id)
            if message.get("e") and server.background:
                server.metrics.inc("heard_escalations_total")
        number = message.get("n")
        if isinstance(number, str):
            self._track(self._tell(number, message))

    def _track(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, number: str, message: dict[str, Any]) -> None:
        """The desks hear what the turn worker saw: an escalation, a customer writing on a
        case a person has, an SLA breach, a commitment overdue."""
        inbox_id = message.get("i")
        try:
            case, text = await self.server.writer.read(
                lambda s: (s.get_case(number),
                           s.inbox_text(inbox_id) if isinstance(inbox_id, int) else ""))
            if case is None:
                return
            desk = self.server.desk
            if message.get("news") in ("sla_breached", "commitment_overdue"):
                await desk.tell(str(message["news"]), case)
            elif message.get("e"):
                await desk.tell("case_escalated", case)
            elif message.get("w") and text:
                await desk.tell("customer_wrote", case, text)
        except Exception:
            log.exception("telling the desks about %s failed", number)

