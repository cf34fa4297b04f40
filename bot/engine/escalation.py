"""Handing a case to a person: when, how the team is promised, and what the bot does
while a person owns the case."""

from __future__ import annotations

from datetime import timedelta

from bot import replies
from bot.case import CaseState, Step
from bot.context import Context, Turn, finish
from bot.engine.telling import add_signals, fire, summary
from bot.hours import response_deadline
from bot.payloads import HUMAN
from bot.types import Incoming
from bot.understanding import Understanding


def escalate_if_risky(turn: Turn) -> bool:
    """Hand the case to a person on safety, an explicit ask, or risk over the threshold."""
    case, dialog = turn.case, turn.dialog
    names = {s.name for s in case.active_signals()}
    reason = None
    if turn.payload == HUMAN:
        fire(turn, "human_request", "button")
        reason = "human_request"
    elif "safety" in names or (case.category == "safety" and case.handled == 0):
        reason = "safety"
    elif case.risk >= dialog.risk_threshold:
        reason = "human_request" if "human_request" in names else "risk"
    if reason is None:
        return False
    hand_off(turn, reason)
    return True


def hand_off(turn: Turn, reason: str) -> None:
    case, dialog = turn.case, turn.dialog
    if reason == "safety":
        case.severity = "urgent"
    promise = to_team(turn)
    if case.account and not case.summary:
        case.summary = summary(turn).text
    turn.event("escalated", reason=reason, risk=case.risk, severity=case.severity,
               signals=[s.as_dict() for s in case.signals],
               due=case.first_response_due.isoformat())
    turn.move("handoff", reason)
    key = {"safety": "handoff_safety", "human_request": "handoff_requested",
           "overdue": "handoff_overdue"}.get(reason, "handoff")
    replies.say(turn, key, summary=case.summary or summary(turn).text, case_number=case.number,
                first_response=promise, team=replies.team_name(dialog, case.locale),
                advice=_advice(turn))


def _advice(turn: Turn) -> str:
    """What to do right now in a safety case: the situation's advice, else the general."""
    case, dialog = turn.case, turn.dialog
    category = dialog.categories.get(case.category or "")
    situation = category.situations.get(case.situation or "") if category else None
    if situation is not None and situation.advice is not None:
        return situation.advice.get(case.locale)
    return dialog.text("safety_advice", case.locale)


def to_team(turn: Turn) -> str:
    """The case goes to the team's queue: the first-response clock (business hours
    counted) starts now. Returns what to promise the customer."""
    case, dialog, now = turn.case, turn.dialog, turn.ctx.now
    deadline, _ = response_deadline(dialog, case.severity, now)
    case.first_response_due = deadline
    case.owner = "team"
    case.handoff_at = now
    case.claimed_at = None
    case.sla_breached = False
    case.followup_at = None
    case.awaiting = None
    case.handoff_ack_at = None
    return replies.by(turn, deadline)


ACK_EVERY = timedelta(minutes=30)     # in handoff: at most one "passed on" per half hour


def in_handoff(case: CaseState, incoming: Incoming, ctx: Context,
               u: Understanding | None) -> Step:
    """A person owns the case: everything is recorded and the bot says nothing about the
    complaint itself. A message from the customer gets one short "passed on" with the
    promised time, at most once every half hour, so nobody writes into silence."""
    turn = Turn(case, ctx, u, incoming.payload)
    if u is not None and not u.is_empty:
        add_signals(turn, u.signals)
    if case.handoff_ack_at is None or ctx.now - case.handoff_ack_at >= ACK_EVERY:
        case.handoff_ack_at = ctx.now
        replies.waiting(turn)
    return finish(turn)
