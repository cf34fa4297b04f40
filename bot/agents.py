"""What a person does with a handed-off case: claim, reply, note, commit, resolve, hand
back to the bot, transfer. Pure functions like the engine: a case and an action in, a
`Step` (new state, messages for the customer, case events) out; the store keeps it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot import replies
from bot.case import CaseEvent, CaseState, Step
from bot.context import Context, Turn
from bot.remedies import remedies_for
from bot.types import Outgoing
from dialogs.model import Dialog

MAX_REPLY = 4000
OVERRIDE_ROLES = frozenset({"supervisor", "admin"})   # may act on a case another agent claimed


class ActionError(Exception):
    """An action that can't be taken on this case now; the message says why."""


def owner_of(agent: str) -> str:
    return f"agent:{agent}"


def _turn(case: CaseState, ctx: Context) -> Turn:
    return Turn(case, ctx, None, None)


def _done(turn: Turn) -> Step:
    turn.case.updated_at = turn.ctx.now
    return replace(turn.step, case=turn.case)


def _needs_person(case: CaseState) -> None:
    if case.stage != "handoff":
        raise ActionError(f"case {case.number} is with the bot ({case.stage}), not with a person")


def claim(case: CaseState, agent: str, ctx: Context) -> Step:
    _needs_person(case)
    if case.owner == owner_of(agent):
        raise ActionError(f"you already own case {case.number}")
    if case.owner.startswith("agent:"):
        raise ActionError(f"case {case.number} was claimed by {case.owner[6:]}")
    turn = _turn(case, ctx)
    case.owner = owner_of(agent)
    case.claimed_at = ctx.now
    turn.event("claimed", agent=agent,
               waited_minutes=_minutes(ctx.now - (case.handoff_at or case.received_at)))
    return _done(turn)


def reply(case: CaseState, agent: str, text: str, ctx: Context, may_override: bool = False) -> Step:
    """Relay a person's words to the customer (pushed on their channel)."""
    text = text.strip()
    if not text:
        raise ActionError("the reply is empty")
    if len(text) > MAX_REPLY:
        raise ActionError(f"the reply is {len(text)} characters; at most {MAX_REPLY} fit")
    _needs_person(case)
    turn = _owned(case, agent, ctx, "reply", may_override)
    if case.owner == "team":
        case.owner, case.claimed_at = owner_of(agent), ctx.now
        turn.event("claimed", agent=agent,
                   waited_minutes=_minutes(ctx.now - (case.handoff_at or case.received_at)))
    turn.event("agent_reply", agent=agent, text=text)
    turn.step.outgoing.append(Outgoing(text=text, kind="agent"))
    return _done(turn)


def note(case: CaseState, agent: str, text: str, ctx: Context, may_override: bool = False) -> Step:
    """An internal note: kept with the case, never shown to the customer."""
    text = text.strip()
    if not text:
        raise ActionError("the note is empty")
    turn = _owned(case, agent, ctx, "note", may_override)
    turn.event("note", agent=agent, text=text[:MAX_REPLY])
    return _done(turn)


def commit(case: CaseState, agent: str, commitment: str, due_at: datetime,
           ctx: Context, remedy_id: str | None = None, may_override: bool = False) -> Step:
    """Set or change what was promised and by when."""
    commitment = commitment.strip()
    if not commitment:
        raise ActionError("say what was promised")
    if due_at <= ctx.now:
        raise ActionError("the due time must be in the future")
    turn = _owned(case, agent, ctx, "commit", may_override)
    case.commitment, case.due_at = commitment, due_at
    if remedy_id:
        case.remedy_id = remedy_id
    turn.event("commitment_set", agent=agent, commitment=commitment, due_at=due_at.isoformat(),
               remedy=remedy_id)
    return _done(turn)


def fulfil(case: CaseState, agent: str, ctx: Context, may_override: bool = False) -> Step:
    """Record that the promise was kept (no more overdue reminders)."""
    if not case.commitment:
        raise ActionError(f"case {case.number} has no commitment to fulfil")
    if case.fulfilled_at is not None:
        raise ActionError(f"case {case.number}'s commitment was already recorded as kept")
    turn = _owned(case, agent, ctx, "fulfil", may_override)
    case.fulfilled_at = ctx.now
    turn.event("fulfilled", agent=agent, commitment=case.commitment)
    return _done(turn)


def resolve(case: CaseState, agent: str, ctx: Context, may_override: bool = False) -> Step:
    """The person has dealt with it: the bot checks back with the customer later."""
    _needs_person(case)
    turn = _owned(case, agent, ctx, "resolve", may_override)
    dialog = ctx.dialog
    grade = dialog.grades[case.severity]
    base = case.due_at if case.due_at and case.due_at > ctx.now else ctx.now
    case.followup_at = base + grade.followup_after
    case.handled = len(case.signals)
    case.risk = 0.0
    case.owner = "bot"
    case.awaiting = None
    turn.event("resolved", agent=agent, followup_at=case.followup_at.isoformat())
    turn.move("committed", "resolved_by_agent")
    replies.say(turn, "agent_resolved", kind="push", case_number=case.number,
                team=replies.team_name(dialog, case.locale),
                followup=replies.format_time(dialog, case.followup_at, case.locale))
    return _done(turn)


def hand_back(case: CaseState, agent: str, ctx: Context, may_override: bool = False) -> Step:
    """Back to the bot, at the stage that fits what is known: committed with a promise,
    offering when the problem was restated, listening otherwise."""
    _needs_person(case)
    turn = _owned(case, agent, ctx, "hand_back", may_override)
    case.handled = len(case.signals)
    case.risk = 0.0
    case.owner = "bot"
    case.misses = case.rejections = case.progress_asks = 0
    turn.event("handed_back", agent=agent)
    if case.commitment and case.due_at:
        grade = ctx.dialog.grades[case.severity]
        case.followup_at = max(case.due_at, ctx.now) + grade.followup_after
        turn.move("committed", "handed_back")
    elif case.summary and case.category:
        turn.move("offering", "handed_back")
        first, second = remedies_for(case, ctx.dialog)
        case.offered = [first.id, second.id]
        replies.offer(turn, "offer", first, second, kind="push")
    else:
        turn.move("listening", "handed_back")
    return _done(turn)


def transfer(case: CaseState, agent: str, to_agent: str, ctx: Context,
             may_override: bool = False) -> Step:
    _needs_person(case)
    turn = _owned(case, agent, ctx, "transfer", may_override)
    if to_agent == agent:
        raise ActionError("that is you")
    case.owner = owner_of(to_agent)
    case.claimed_at = ctx.now
    turn.event("transferred", agent=agent, to=to_agent)
    return _done(turn)


def canned_replies(case: CaseState, agent_name: str, dialog: Dialog) -> dict[str, str]:
    """The dialog's canned replies with this case's fields filled in."""
    if dialog.team is None:
        return {}
    values = {
        "case_number": case.number, "customer_name": case.customer_name or "",
        "summary": case.summary or "", "commitment": case.commitment or "",
        "due": replies.format_time(dialog, case.due_at, case.locale) if case.due_at else "",
        "agent": agent_name, "team": replies.team_name(dialog, case.locale),
    }
    return {name: text.get(case.locale).format(**values)
            for name, text in dialog.team.canned.items()}


def _owned(case: CaseState, agent: str, ctx: Context, action: str, may_override: bool) -> Turn:
    """A turn for an action on this case. A case another agent has claimed is theirs: an
    agent is refused; a supervisor or admin (`may_override`) goes ahead, and the override
    is recorded in the case's events with whose case it was."""
    holder = case.owner[6:] if case.owner.startswith("agent:") else None
    if holder is not None and holder != agent and not may_override:
        raise ActionError(f"case {case.number} belongs to {holder}; ask them to transfer it")
    turn = _turn(case, ctx)
    if holder is not None and holder != agent:
        turn.event("override", agent=agent, owner=holder, action=action)
    return turn


def _minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))


__all__ = ["ActionError", "CaseEvent", "canned_replies", "claim", "commit", "fulfil",
           "hand_back", "note", "owner_of", "reply", "resolve", "transfer"]
