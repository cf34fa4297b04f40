"""The agent desk: people are told about handed-off cases, and act on them.

`Desk` is anything that tells people (the console's live queue, a Discord thread). The
`DeskService` runs agents' actions (`bot.agents`) through the writer, so every action is
one transaction with its messages in the outbox, then tells every desk what changed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from adapters.base import OutboxMessage
from bot import agents, labels
from bot.case import CaseState, Step
from bot.engine import Context
from dialogs.model import Dialog
from storage.store import Store
from storage.writer import Writer

log = logging.getLogger(__name__)


class Desk(Protocol):
    name: str

    async def case_escalated(self, case: CaseState) -> None: ...
    async def case_changed(self, case: CaseState, what: str, agent: str | None) -> None: ...
    async def customer_wrote(self, case: CaseState, text: str) -> None: ...
    async def customer_sent_file(self, case: CaseState) -> None: ...
    async def sla_breached(self, case: CaseState) -> None: ...
    async def commitment_overdue(self, case: CaseState) -> None: ...
    async def delivery_failed(self, case: CaseState, status: str, reason: str) -> None: ...


def turn_news(case: CaseState | None, text: str, escalated: bool) -> str | None:
    """What the desks hear of a customer's turn: the case escalated, or the customer wrote
    on a case people have; else nothing."""
    if case is None:
        return None
    if escalated:
        return "case_escalated"
    if case.stage != "handoff":
        return None
    if text:
        return "customer_wrote"
    sent_now = bool(case.evidence) and case.evidence[-1].get("at") == case.updated_at.isoformat()
    return "customer_sent_file" if sent_now else None


def timer_news(steps: Sequence[Step]) -> list[tuple[str, CaseState]]:
    """What the desks hear of the timers: SLA breaches and commitments overdue."""
    news = []
    for step in steps:
        kinds = {e.kind for e in step.events}
        if step.case is not None:
            news += [(what, step.case) for kind, what in TIMER_NEWS if kind in kinds]
    return news


TIMER_NEWS = (("sla_breach", "sla_breached"), ("commitment_overdue", "commitment_overdue"))
ACTIONS = ("claim", "reply", "note", "commit", "fulfil", "resolve", "hand_back", "transfer",
           "label", "unlabel")
LABEL_ACTIONS = {"label": labels.label, "unlabel": labels.unlabel}   # open to anyone signed in


class DeskService:
    def __init__(self, writer: Writer, dialog: Callable[[], Dialog],
                 clock: Callable[[], datetime], on_outbox: Callable[[], None]) -> None:
        self.writer, self.dialog, self.clock, self.on_outbox = writer, dialog, clock, on_outbox
        self.desks: list[Desk] = []
        # workers sharing PostgreSQL: news goes to every worker's desks (bot/shared.py)
        self.relay: Callable[[str, CaseState, tuple[Any, ...]], Awaitable[None]] | None = None

    # ------------------------------------------------------------ actions

    async def act(self, number: str, agent: str, action: str, *, role: str = "agent",
                  **args: Any) -> CaseState:
        """Run one agent action; raises `agents.ActionError` with a reason people can read.
        `role` is the signed-in person's: supervisors and admins may act on a case another
        agent claimed (recorded as an `override` event); agents may not."""
        if action not in ACTIONS:
            raise agents.ActionError(f"unknown action {action!r}")
        if action not in ("claim", *LABEL_ACTIONS):
            args["may_override"] = role in agents.OVERRIDE_ROLES
        now, dialog = self.clock(), self.dialog()

        def run(store: Store) -> CaseState:
            case = store.case_for_change(number)
            if case is None:
                raise agents.ActionError(f"no case {number}")
            if action == "transfer" and store.agent(str(args.get("to_agent"))) is None:
                raise agents.ActionError(f"no agent {args.get('to_agent')!r}")
            ctx = Context(dialog=dialog, now=now,
                          new_case_number=lambda: store.next_case_number(now.year))
            act = LABEL_ACTIONS.get(action) or getattr(agents, action)
            step: Step = act(case, agent, ctx=ctx, **args)
            store.apply(step, None, now)
            assert step.case is not None
            return step.case

        case = await self.writer.run(run)
        self.on_outbox()
        await self.tell("case_changed", case, action, agent)
        return case

    # ------------------------------------------------------------ news from the bot

    async def after_turn(self, case: CaseState | None, text: str, escalated: bool) -> None:
        what = turn_news(case, text, escalated)
        if case is not None and what is not None:
            await self.tell(what, case, *((text,) if what == "customer_wrote" else ()))

    async def after_timers(self, steps: Sequence[Step]) -> None:
        for what, case in timer_news(steps):
            await self.tell(what, case)

    async def delivery_failed(self, messages: Sequence[OutboxMessage], status: str,
                              reason: str) -> None:
        """Messages to a customer were not delivered (given up, refused) or cannot be known
        to have been (unconfirmed): the desks alert the team, like an SLA breach."""
        numbers = sorted({m.case_number for m in messages if m.case_number})
        if not numbers:
            log.warning("a message outside any case was not delivered (%s): %s", status, reason)
            return
        cases = await self.writer.read(lambda s: [s.get_case(n) for n in numbers])
        for case in cases:
            if case is not None:
                await self.tell("delivery_failed", case, status, reason)

    async def tell(self, what: str, case: CaseState, *args: Any) -> None:
        """Every desk hears about it; one failing desk never stops the others. With
        workers sharing PostgreSQL, every worker's desks (bot/shared.py `relay`)."""
        if self.relay is not None:
            await self.relay(what, case, args)
        else:
            await self.tell_here(what, case, *args)

    async def tell_here(self, what: str, case: CaseState, *args: Any) -> None:
        for desk in self.desks:
            try:
                await getattr(desk, what)(case, *args)
            except Exception:
                log.exception("desk %s could not be told about %s (%s)", desk.name, case.number,
                              what)
