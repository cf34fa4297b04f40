"""What a person does with a handed-off case: claim, reply, note, commit, resolve, hand
back to the bot (the person picks what the bot does next), transfer. Pure functions like
the engine: a case and an action in, a `Step` (new state, messages for the customer, case
events) out; the store keeps it.
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
    _close(turn, agent)
    return _done(turn)


# What a person may pick when handing a case back, in the order people see them.
HAND_BACK_CHOICES = ("close", "confirm", "offer", "listen")


class ChoiceError(ActionError):
    """A hand-back without a valid choice of what happens next (a bad request)."""


def hand_back(case: CaseState, agent: str, ctx: Context, then: str | None = None,
              may_override: bool = False) -> Step:
    """Back to the bot, which does what the person picked (`then`): `close` (as resolve),
    `confirm` the promise, `offer` the two remedies again, or `listen` in silence."""
    if then not in HAND_BACK_CHOICES:
        raise ChoiceError(f"choose what happens next: {', '.join(HAND_BACK_CHOICES)}"
                          + (f" (not {then!r})" if then else ""))
    _needs_person(case)
    turn = _owned(case, agent, ctx, "hand_back", may_override)
    refused = hand_back_refusal(case, then, ctx.now)
    if refused:
        raise ActionError(refused)
    turn.event("handed_back", agent=agent, then=then)
    if then == "close":
        _close(turn, agent)
    else:
        _back_to_bot(case)
        _THEN[then](turn)
    return _done(turn)


def hand_back_refusal(case: CaseState, then: str, now: datetime) -> str | None:
    """Why this choice does not fit the case now (None: it does)."""
    if then == "confirm":
        if not (case.commitment and case.due_at):
            return (f"case {case.number} has no commitment to confirm; set one with commit, "
                    "or choose offer or listen")
        if case.fulfilled_at is not None:
            return f"case {case.number}'s commitment was already kept; choose close"
        if case.due_at <= now:
            return (f"case {case.number}'s promised time has passed; set a new one with "
                    "commit, or choose close")
    if then == "offer" and not (case.category and case.summary):
        return (f"case {case.number} has no restated problem yet, so there are no remedies "
                "to offer; choose listen")
    return None


def hand_back_choices(case: CaseState, now: datetime) -> dict[str, str | None]:
    """Every hand-back choice with why it does not fit this case (None: it does)."""
    return {then: hand_back_refusal(case, then, now) for then in HAND_BACK_CHOICES}


def _close(turn: Turn, agent: str) -> None:
    """Resolved by a person: committed, a follow-up planned, the customer told when."""
    case, dialog = turn.case, turn.dialog
    _back_to_bot(case)
    _plan_followup(case, turn.ctx)
    assert case.followup_at is not None
    turn.event("resolved", agent=agent, followup_at=case.followup_at.isoformat())
    turn.move("committed", "resolved_by_agent")
    replies.say(turn, "agent_resolved", kind="push", case_number=case.number,
                team=replies.team_name(dialog, case.locale),
                followup=replies.format_time(dialog, case.followup_at, case.locale))


def _confirm(turn: Turn) -> None:
    """One message: what was promised, by when, and when we check back."""
    case, dialog = turn.case, turn.dialog
    assert case.due_at is not None
    _plan_followup(case, turn.ctx)
    assert case.followup_at is not None
    turn.move("committed", "handed_back")
    replies.say(turn, "handback_confirm", kind="push", commitment=case.commitment or "",
                due=replies.format_time(dialog, case.due_at, case.locale),
                followup=replies.format_time(dialog, case.followup_at, case.locale),
                case_number=case.number)


def _offer(turn: Turn) -> None:
    case = turn.case
    first, second = remedies_for(case, turn.dialog)
    case.offered = [first.id, second.id]
    turn.move("offering", "handed_back")
    replies.offer(turn, "handback_offer", first, second, kind="push")


def _listen(turn: Turn) -> None:
    """Nothing is said: the customer's next message is the bot's again."""
    case = turn.case
    if case.commitment and case.due_at:
        _plan_followup(case, turn.ctx)
        turn.move("committed", "handed_back")
    elif case.summary:
        turn.move("confirming", "handed_back")
    else:
        turn.move("listening", "handed_back")


_THEN = {"confirm": _confirm, "offer": _offer, "listen": _listen}


def _back_to_bot(case: CaseState) -> None:
    """The bot owns the case again; what the person dealt with no longer counts against it
    (risk, signals so far, "not quite", refusals, progress questions)."""
    case.handled = len(case.signals)
    case.risk = 0.0
    case.owner = "bot"
    case.awaiting = None
    case.misses = case.rejections = case.progress_asks = 0


def _plan_followup(case: CaseState, ctx: Context) -> None:
    """Check back a grade's follow-up delay after the promise is due (or from now)."""
    base = case.due_at if case.due_at and case.due_at > ctx.now else ctx.now
    case.followup_at = base + ctx.dialog.grades[case.severity].followup_after


def transfer(case: CaseState, agent: str, to_agent: str, ctx: Context,
             may_override: bool = False) -> Step:
    _needs_person(case)
    turn = _owned(case, agent, ctx, "transfer", may_override)
    if to_agent == agent:
        raise ActionError("that is you")
    case.owner = owner_of(to_agent)
    case.claimed_at = case.claimed_at or ctx.now   # when a person first took it (reports)
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


__all__ = ["HAND_BACK_CHOICES", "ActionError", "CaseEvent", "ChoiceError", "canned_replies",
           "claim", "commit", "fulfil", "hand_back", "hand_back_choices", "hand_back_refusal",
           "note", "owner_of", "reply", "resolve", "transfer"]
