"""The dialog engine: one pure step per customer action.

`step(case, incoming, ctx)` takes the conversation's latest case (or None), what the
customer did, and a context (dialog, clock, history, case-number allocator), and returns a
`Step`: the new case state, the replies and the case events. It never touches the network
or the store; `bot.turns` stores the step in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot import replies
from bot.case import CaseState, Step
from bot.context import Context, Turn, finish
from bot.engine.aftercare import after_commitment, followup_due
from bot.engine.confirming import confirming, listen, listening
from bot.engine.escalation import escalate_if_risky, in_handoff
from bot.engine.evidence import noted, sticker
from bot.engine.offering import offering, sampled
from bot.engine.telling import check_repeat_of_earlier, classify_case, note_customer, severity
from bot.hours import response_deadline
from bot.payloads import FOLLOW
from bot.types import Incoming, Outgoing
from bot.understanding import Understanding, understand
from dialogs.model import Dialog

# ---------------------------------------------------------------- entry points


def step(case: CaseState | None, incoming: Incoming, ctx: Context) -> Step:
    """Advance the conversation by one customer action. A photo or file goes through the
    same story (its caption is what the customer said) and is then noted on the case."""
    attachment = incoming.attachment
    if attachment is None:
        return _story(case, incoming, ctx)
    if attachment.status == "ignored":
        return sticker(case, incoming, ctx, _locale_for(None, incoming, ctx.dialog))
    result = _story(case, incoming, ctx)
    if result.case is None:       # "hi" with a photo: the photo is about something
        result = _open_case(incoming, ctx, None, incoming.payload)
    return noted(result, incoming, ctx)


def _story(case: CaseState | None, incoming: Incoming, ctx: Context) -> Step:
    u = understand(incoming.text, ctx.dialog) if incoming.text else None
    payload = incoming.payload
    if payload == FOLLOW:
        return _greet(case, incoming, ctx)
    if case is not None and case.stage == "handoff":
        return in_handoff(case, incoming, ctx, u)
    if case is not None and case.stage == "committed" and u is None and incoming.attachment:
        return Step(case=case)            # more evidence for the promise being kept
    if case is not None and case.stage in ("committed", "closed"):
        after = after_commitment(case, incoming, ctx, u, payload)
        if after is not None:
            return after
        case = None
    if case is None:
        if u is not None and _only_greeting(u):
            return _greet(None, incoming, ctx, u)
        return _open_case(incoming, ctx, u, payload)
    turn = Turn(case, ctx, u, payload, incoming.attachment)
    note_customer(turn)
    if not escalate_if_risky(turn) and (u is not None or turn.attachment is None
                                        or (case.stage == "listening" and not case.telling())):
        STAGE_HANDLERS[case.stage](turn)      # a bare photo mid-story moves nothing on
    return finish(turn)


def _greet(case: CaseState | None, incoming: Incoming, ctx: Context,
           u: Understanding | None = None) -> Step:
    """A follow, /start or "hi": a greeting, no case opened (no case number until there is
    a complaint). An open case just continues."""
    if case is not None and case.stage in ("listening", "confirming", "offering", "handoff"):
        return Step(case=case)
    locale = _locale_for(u, incoming, ctx.dialog)
    text = ctx.dialog.text("greeting", locale)
    return Step(case=None, outgoing=[Outgoing(text=text)])


def _only_greeting(u: Understanding) -> bool:
    return (u.act.act == "greeting" and u.category is None and not u.signals
            and not u.details.order_numbers)


def due(case: CaseState, ctx: Context, *, followup: bool = True) -> Step:
    """Timers that came due for this case: an overdue commitment (the owner is told), the
    follow-up callback (unless `followup` is False: its own rules decide when), the SLA
    breach."""
    turn = Turn(case, ctx, None, None)
    if commitment_overdue(case, ctx.now):
        case.overdue_reminded = True
        turn.event("commitment_overdue", due_at=case.due_at.isoformat() if case.due_at else None,
                   commitment=case.commitment)
    if followup and case.stage == "committed" and case.followup_at and case.followup_at <= ctx.now:
        followup_due(turn)
    elif sla_breached(case, ctx.now):
        case.sla_breached = True
        turn.event("sla_breach", due=case.first_response_due.isoformat(), severity=case.severity)
        replies.say(turn, "still_handling", kind="push", case_number=case.number,
                    team=replies.team_name(ctx.dialog, case.locale))
    return finish(turn)


def commitment_overdue(case: CaseState, now: datetime) -> bool:
    """A promise's due time passed and nobody recorded it as kept (the owner is told once)."""
    return (case.stage == "committed" and case.due_at is not None and case.due_at <= now
            and case.fulfilled_at is None and not case.overdue_reminded)


def sla_breached(case: CaseState, now: datetime) -> bool:
    """Nobody took the handed-off case within its first-response target (said once)."""
    return (case.stage == "handoff" and case.owner == "team" and not case.sla_breached
            and case.first_response_due <= now)


# ---------------------------------------------------------------- opening a case


def _open_case(incoming: Incoming, ctx: Context, u: Understanding | None,
               payload: str | None) -> Step:
    dialog, now = ctx.dialog, ctx.now
    locale = _locale_for(u, incoming, dialog)
    case = CaseState(
        number=ctx.new_case_number(), conversation_key=incoming.conversation_key,
        channel=incoming.channel, customer_name=incoming.profile.display_name, locale=locale,
        stage="listening", received_at=now, updated_at=now, first_response_due=now,
    )
    turn = Turn(case, ctx, u, payload, incoming.attachment)
    turn.step.new_case = True
    turn.event("opened", channel=incoming.channel, locale=locale)
    note_customer(turn)
    if u is not None and u.category is not None and u.decision.by != "fallback":
        classify_case(turn, u.decision, u.canonical)
    check_repeat_of_earlier(turn)
    case.severity = severity(turn)
    case.first_response_due = now + dialog.grades[case.severity].first_response
    deadline, _ = response_deadline(dialog, case.severity, now)
    replies.say(turn, "ack", case_number=case.number, first_response=replies.by(turn, deadline))
    if not escalate_if_risky(turn):
        listen(turn)
    return finish(turn)


def _locale_for(u: Understanding | None, incoming: Incoming, dialog: Dialog) -> str:
    if u is not None and u.locale:
        return u.locale
    hint = (incoming.profile.language_code or "").lower()
    if hint.startswith("zh"):
        return "zh-CN" if hint in ("zh-cn", "zh-hans", "zh-sg") else "zh-TW"
    if hint.startswith("en"):
        return "en"
    return dialog.default_locale


# ---------------------------------------------------------------- wiring


STAGE_HANDLERS: dict[str, Callable[[Turn], None]] = {
    "listening": listening,
    "confirming": confirming,
    "offering": offering,
}


_sampled = sampled   # the follow-up sampling rule, for tests

__all__ = ["Context", "Turn", "commitment_overdue", "due", "sla_breached", "step"]
