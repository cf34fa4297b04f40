"""An HTTP worker of `heard serve --workers N` (see bot/workers.py): `heard serve`'s server
without the turns. Events are kept in the inbox and the turn worker woken; what it sends
back starts delivery, answers waiting web chat requests and tells the desks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.workers import Wake, owner

if TYPE_CHECKING:
    from bot.case import CaseState
    from bot.server import HeardServer
    from storage.store import Store

log = logging.getLogger(__name__)

AHEAD = 96     # events a worker keeps ahead of the turn worker before webhooks wait a little


class HttpLink:
    def __init__(self, server: HeardServer, wake: Wake, index: int, count: int) -> None:
        self.server, self.wake, self.index, self.count = server, wake, index, count
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
            server._track(self._tell(number, message))   # finished before the server stops

    async def _tell(self, number: str, message: dict[str, Any]) -> None:
        """The desks hear what the turn worker saw (`bot.desk.turn_news`, `timer_news`);
        a customer's words on a handed-off case are read from the inbox."""
        what, inbox_id = str(message.get("news")), message.get("i")
        wrote = what == "customer_wrote"

        def read(store: Store) -> tuple[CaseState | None, str]:
            said = store.inbox_text(inbox_id) if wrote and isinstance(inbox_id, int) else ""
            return store.get_case(number), said

        try:
            case, text = await self.server.writer.read(read)
            if case is not None and (text or not wrote):
                await self.server.desk.tell(what, case, *((text,) if wrote else ()))
        except Exception:
            log.exception("telling the desks about %s failed", number)
