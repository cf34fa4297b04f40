"""What one engine step works with: the context outside the case, and the turn in
progress (the case, what the customer said, what the bot says and logs).

`bot.replies` writes into a `Turn`; the engine stages (`bot.engine`) drive it. Neither
imports the other through this module, so there is no import circle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.case import CaseEvent, CaseState, Step
from bot.types import Attachment
from bot.understanding import Understanding
from dialogs.model import Dialog


@dataclass(slots=True)
class Context:
    """Everything outside the case that a step may read. The clock is injected."""

    dialog: Dialog
    now: datetime
    new_case_number: Callable[[], str]
    history: Callable[[], Sequence[CaseState]] = lambda: ()  # earlier cases, newest first


@dataclass(slots=True)
class Turn:
    """Work in progress for one step: the case plus what has been said and logged."""

    case: CaseState
    ctx: Context
    u: Understanding | None
    payload: str | None
    attachment: Attachment | None = None              # a photo or file came with it
    step: Step = field(init=False)
    noted: bool = field(init=False, default=False)   # the message added to the telling

    def __post_init__(self) -> None:
        self.step = Step(case=self.case)

    @property
    def dialog(self) -> Dialog:
        return self.ctx.dialog

    def event(self, kind: str, **data: object) -> None:
        self.step.events.append(CaseEvent(kind, dict(data), self.ctx.now))

    def move(self, stage: str, reason: str) -> None:
        if self.case.stage != stage:
            self.event("stage", **{"from": self.case.stage, "to": stage, "reason": reason})
            self.case.stage = stage


def finish(turn: Turn) -> Step:
    """The step as it stands: the case stamped with the turn's time."""
    turn.case.updated_at = turn.ctx.now
    return replace(turn.step, case=turn.case)
