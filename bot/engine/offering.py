"""Offering two remedies, reading the choice, and making the commitment."""

from __future__ import annotations

import hashlib

from bot import replies
from bot.case import CaseState
from bot.context import Turn
from bot.engine.escalation import hand_off
from bot.engine.telling import fire
from bot.payloads import REMEDY_PREFIX
from bot.remedies import fill, remedies_for
from bot.when import contact_time, promise_due
from dialogs.model import Remedy


def remedies(turn: Turn) -> tuple[Remedy, Remedy]:
    return remedies_for(turn.case, turn.dialog)


def offer(turn: Turn) -> None:
    case = turn.case
    first, second = remedies(turn)
    case.offered = [first.id, second.id]
    turn.move("offering", "confirmed")
    replies.offer(turn, "offer", first, second)


def offering(turn: Turn) -> None:
    case, u = turn.case, turn.u
    chosen = _chosen_remedy(turn)
    if chosen is not None:
        commit(turn, chosen)
        return
    intents = u.intents if u else frozenset()
    act = u.act.act if u else None
    if act in ("reject", "no") or "reject" in intents:
        case.rejections += 1
        if "both" in intents or case.rejections >= 2:
            fire(turn, "rejected_remedies", *case.offered)
            hand_off(turn, "rejected_remedies")
            return
        first, second = remedies(turn)
        replies.offer(turn, "offer_again", first, second)
        return
    first, second = remedies(turn)
    replies.say(turn, "offer_unclear", buttons=replies.remedy_buttons(turn, first, second))


def _chosen_remedy(turn: Turn) -> Remedy | None:
    first, second = remedies(turn)
    payload, u = turn.payload, turn.u
    if payload and payload.startswith(REMEDY_PREFIX):
        wanted = payload[len(REMEDY_PREFIX):]
        return next((r for r in (first, second) if r.id == wanted), None)
    if u is None or u.act.act == "reject":
        return None
    if u.act.act == "first":
        return first
    if u.act.act == "second":
        return second
    hits = [r for r in (first, second) if any(w in u.canonical for w in r.words)]
    return hits[0] if len(hits) == 1 else None


def commit(turn: Turn, remedy: Remedy) -> None:
    case, dialog, now = turn.case, turn.dialog, turn.ctx.now
    case.remedy_id = remedy.id
    case.commitment = fill(remedy.commitment.get(case.locale), case, dialog)
    case.due_at = promise_due(dialog, now, remedy.due)        # inside business hours
    grade = dialog.grades[case.severity]
    # the follow-up time the text names is the one the scheduler will really use
    case.followup_at = (contact_time(dialog, case.due_at + grade.followup_after)
                        if sampled(case, grade.followup_sample) else None)
    turn.event("committed", remedy=remedy.id, due_at=case.due_at.isoformat(),
               compensation=remedy.compensation,
               followup_at=case.followup_at.isoformat() if case.followup_at else None)
    turn.move("committed", "remedy_chosen")
    replies.committed(turn)


def sampled(case: CaseState, share: float) -> bool:
    """Deterministic sampling by case number, so reruns and stories agree."""
    if share >= 1.0:
        return True
    digest = hashlib.sha256(case.number.encode()).digest()
    return digest[0] / 256 < share
