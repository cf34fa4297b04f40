"""The dialog engine: one pure step per customer action.

`step(case, incoming, ctx)` takes the conversation's latest case (or None), what the
customer did, and a context (dialog, clock, history, case-number allocator), and returns a
`Step`: the new case state, the replies and the case events. It never touches the network
or the store; `bot.turns` stores the step in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot import replies
from bot.case import CaseEvent, CaseState, SignalHit, Step
from bot.details import Details
from bot.hours import response_deadline
from bot.normalize import canonical
from bot.payloads import (
    FOLLOW,
    FOLLOWUP_PREFIX,
    HUMAN,
    NO,
    RATE_PREFIX,
    REMEDY_PREFIX,
    RETRY,
    YES,
)
from bot.remedies import remedies_for
from bot.restate import restate
from bot.signals import risk_of, similarity
from bot.types import Incoming, Outgoing
from bot.understanding import (
    CategoryDecision,
    Understanding,
    classify,
    explain_category,
    severity_for,
    understand,
)
from dialogs.model import Dialog, Remedy

MAX_LISTENING_PROMPTS = 2
MAX_MISSES = 2
OPEN_STAGES = ("listening", "confirming", "offering")


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
    step: Step = field(init=False)

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


# ---------------------------------------------------------------- entry points


def step(case: CaseState | None, incoming: Incoming, ctx: Context) -> Step:
    """Advance the conversation by one customer action."""
    u = understand(incoming.text, ctx.dialog) if incoming.text else None
    payload = incoming.payload
    if payload == FOLLOW:
        return _greet(case, incoming, ctx)
    if case is not None and case.stage == "handoff":
        return _in_handoff(case, incoming, ctx, u)
    if case is not None and case.stage in ("committed", "closed"):
        after = _after_commitment(case, incoming, ctx, u, payload)
        if after is not None:
            return after
        case = None
    if case is None:
        return _open_case(incoming, ctx, u, payload)
    turn = Turn(case, ctx, u, payload)
    _note_customer(turn)
    if not _escalate_if_risky(turn):
        STAGE_HANDLERS[case.stage](turn)
    return _finish(turn)


def _greet(case: CaseState | None, incoming: Incoming, ctx: Context) -> Step:
    """A follow or /start: a greeting, no case opened. An open case just continues."""
    if case is not None and case.stage in ("listening", "confirming", "offering", "handoff"):
        return Step(case=case)
    locale = _locale_for(None, incoming, ctx.dialog)
    text = ctx.dialog.text("greeting", locale)
    return Step(case=None, outgoing=[Outgoing(text=text)])


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
        _followup_due(turn)
    elif sla_breached(case, ctx.now):
        case.sla_breached = True
        turn.event("sla_breach", due=case.first_response_due.isoformat(), severity=case.severity)
        replies.say(turn, "still_handling", kind="push", case_number=case.number,
                    team=replies.team_name(ctx.dialog, case.locale))
    return _finish(turn)


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
    turn = Turn(case, ctx, u, payload)
    turn.step.new_case = True
    turn.event("opened", channel=incoming.channel, locale=locale)
    _note_customer(turn)
    if u is not None and u.category is not None and u.decision.by != "fallback":
        _classify(turn, u.decision, u.canonical)
    _check_repeat_of_earlier(turn)
    case.severity = _severity(turn)
    case.first_response_due = now + dialog.grades[case.severity].first_response
    replies.say(turn, "ack", case_number=case.number,
                first_response=replies.duration(dialog, case.severity, locale))
    if not _escalate_if_risky(turn):
        _listen(turn)
    return _finish(turn)


def _locale_for(u: Understanding | None, incoming: Incoming, dialog: Dialog) -> str:
    if u is not None and u.locale:
        return u.locale
    hint = (incoming.profile.language_code or "").lower()
    if hint.startswith("zh"):
        return "zh-CN" if hint in ("zh-cn", "zh-hans", "zh-sg") else "zh-TW"
    if hint.startswith("en"):
        return "en"
    return dialog.default_locale


# ---------------------------------------------------------------- understanding the telling


def _note_customer(turn: Turn) -> None:
    """Add what the customer said to the case: the telling, details, signals, severity."""
    u, case = turn.u, turn.case
    if u is None or u.is_empty:
        return
    if case.stage in ("listening", "confirming") and not _is_only_answer(u):
        _check_said_again(turn, u)
        case.account.append(u.text)
        merged = Details.from_dict(case.details).merged(u.details)
        case.details = merged.as_dict()
    _add_signals(turn, u.signals)


def _check_said_again(turn: Turn, u: Understanding) -> None:
    """The same complaint told again in this case (not a correction) is `repeated`."""
    if u.category is None or "repeated" in turn.case.signal_names():
        return
    threshold = float(turn.dialog.signals["repeated"].params.get("similarity", 0.5))
    for earlier in turn.case.account:
        if similarity(u.canonical, canonical(earlier)) >= max(threshold, 0.8):
            _fire(turn, "repeated", "said again")
            return


ANSWER_ACTS = frozenset({"yes", "no", "first", "second", "reject", "thanks", "greeting",
                         "resolved", "partly", "not_solved", "human"})


def _is_only_answer(u: Understanding) -> bool:
    """A short yes/no/thanks/greeting carries no new facts for the telling."""
    return u.category is None and u.act.act in ANSWER_ACTS and not u.details.order_numbers


def _add_signals(turn: Turn, hits: Sequence[SignalHit]) -> None:
    case = turn.case
    for hit in hits:
        case.signals.append(hit)
        turn.event("signal", name=hit.name, weight=hit.weight, words=list(hit.words))
    if hits:
        case.risk = risk_of(case.active_signals())
        case.severity = _severity(turn)


def _severity(turn: Turn) -> str:
    """Derived, never stored apart: the category's grade raised by every signal so far."""
    return severity_for(turn.case.category, turn.case.signals, turn.dialog)


def _fire(turn: Turn, name: str, *words: str) -> None:
    signal = turn.dialog.signals[name]
    _add_signals(turn, [SignalHit(name, signal.weight, tuple(words))])


def _check_repeat_of_earlier(turn: Turn) -> None:
    """A new case about a problem this customer raised in the last N days is `repeated`."""
    u, case = turn.u, turn.case
    if u is None or u.category is None:
        return
    window = timedelta(days=int(turn.dialog.signals["repeated"].params.get("window_days", 30)))
    for earlier in turn.ctx.history():
        if earlier.number == case.number or earlier.received_at < turn.ctx.now - window:
            continue
        if _same_problem(turn, earlier, u):
            turn.event("repeat_of", case=earlier.number)
            _fire(turn, "repeated", earlier.number)
            return


def _same_problem(turn: Turn, earlier: CaseState, u: Understanding) -> bool:
    threshold = float(turn.dialog.signals["repeated"].params.get("similarity", 0.5))
    if earlier.category != u.category:
        return False
    earlier_details = Details.from_dict(earlier.details)
    if set(earlier_details.order_numbers) & set(u.details.order_numbers):
        return True
    if set(earlier_details.products) & set(u.details.products):
        return True
    told = " ".join(earlier.account)
    return bool(told) and similarity(u.canonical, canonical(told)) >= threshold


# ---------------------------------------------------------------- escalation


def _escalate_if_risky(turn: Turn) -> bool:
    """Hand the case to a person on safety, an explicit ask, or risk over the threshold."""
    case, dialog = turn.case, turn.dialog
    names = {s.name for s in case.active_signals()}
    reason = None
    if turn.payload == HUMAN:
        _fire(turn, "human_request", "button")
        reason = "human_request"
    elif "safety" in names or (case.category == "safety" and case.handled == 0):
        reason = "safety"
    elif case.risk >= dialog.risk_threshold:
        reason = "human_request" if "human_request" in names else "risk"
    if reason is None:
        return False
    _hand_off(turn, reason)
    return True


def _hand_off(turn: Turn, reason: str) -> None:
    case, dialog = turn.case, turn.dialog
    if reason == "safety":
        case.severity = "urgent"
    promise = _to_team(turn)
    if case.account and not case.summary:
        case.summary = _summary(turn)
    turn.event("escalated", reason=reason, risk=case.risk, severity=case.severity,
               signals=[s.as_dict() for s in case.signals],
               due=case.first_response_due.isoformat())
    turn.move("handoff", reason)
    key = {"safety": "handoff_safety", "human_request": "handoff_requested"}.get(reason, "handoff")
    replies.say(turn, key, summary=case.summary or _summary(turn), case_number=case.number,
                first_response=promise, team=replies.team_name(dialog, case.locale))


def _to_team(turn: Turn) -> str:
    """The case goes to the team's queue: the first-response clock (business hours
    counted) starts now. Returns what to promise the customer."""
    case, dialog, now = turn.case, turn.dialog, turn.ctx.now
    deadline, opening = response_deadline(dialog, case.severity, now)
    case.first_response_due = deadline
    case.owner = "team"
    case.handoff_at = now
    case.claimed_at = None
    case.sla_breached = False
    case.followup_at = None
    case.awaiting = None
    return replies.response_promise(dialog, case.severity, case.locale, opening)


def _in_handoff(case: CaseState, incoming: Incoming, ctx: Context,
                u: Understanding | None) -> Step:
    """A person owns the case: record everything, say nothing (by construction)."""
    turn = Turn(case, ctx, u, incoming.payload)
    if u is not None and not u.is_empty:
        _add_signals(turn, u.signals)
    step_ = _finish(turn)
    step_.outgoing.clear()
    return step_


# ---------------------------------------------------------------- stage handlers


def _listen(turn: Turn) -> None:
    """Keep listening until the category can be told; ask one short question at a time."""
    case, u = turn.case, turn.u
    if turn.payload == RETRY:
        case.account.clear()
        replies.say(turn, "ask_more")
        return
    if not case.account:
        if u is None or u.is_empty:
            replies.say(turn, "empty" if u is not None else "non_text")
            return
        if u.act.act == "greeting" and case.prompts == 0:
            case.prompts += 1
            replies.say(turn, "greeting")
            return
    told = canonical(" ".join(case.account))
    decision = classify(told, turn.dialog)
    if decision.category is None or decision.by == "fallback":
        if case.prompts < MAX_LISTENING_PROMPTS:
            case.prompts += 1
            replies.say(turn, "ask_more" if case.prompts == 1 else "ask_more_again")
            turn.event("prompted", count=case.prompts)
            return
        decision = _fallback(turn, decision)
    _classify(turn, decision, told)
    _confirm(turn)


def _fallback(turn: Turn, decision: CategoryDecision) -> CategoryDecision:
    """The model is not sure and the customer was asked: the dialog's fallback category."""
    return CategoryDecision(turn.dialog.understanding.fallback_category, None,
                            decision.confidence, "fallback", decision.words)


def _classify(turn: Turn, decision: CategoryDecision, told: str) -> None:
    case, category = turn.case, decision.category
    assert category is not None
    if case.category != category or case.situation != decision.situation:
        case.category = category
        case.situation = decision.situation
        explanation = explain_category(told, decision, turn.dialog, turn.u)
        case.category_words = list(decision.words) or [
            f["feature"] for f in explanation.get("features", ())]
        turn.event("classified", category=category, situation=decision.situation,
                   score=round(decision.confidence, 2), words=case.category_words,
                   explanation=explanation)
    case.severity = _severity(turn)
    case.first_response_due = case.received_at + turn.dialog.grades[case.severity].first_response


def _summary(turn: Turn) -> str:
    case = turn.case
    return restate(case.account, case.locale, turn.dialog, Details.from_dict(case.details))


def _confirm(turn: Turn) -> None:
    """Restate the problem specifically and ask whether we got it right."""
    case = turn.case
    case.summary = _summary(turn)
    turn.move("confirming", "restated")
    replies.restatement(turn)


def _confirming(turn: Turn) -> None:
    case, u = turn.case, turn.u
    act = u.act.act if u else None
    if turn.payload == YES or (turn.payload is None and act == "yes"):
        _offer(turn)
    elif turn.payload == NO or (turn.payload is None and act == "no"):
        case.misses += 1
        turn.move("listening", "not_quite")
        if case.misses >= MAX_MISSES:
            replies.say(turn, "offer_person", buttons=replies.person_buttons(turn))
        else:
            replies.say(turn, "not_quite")
    elif u is not None and not u.is_empty and not _is_only_answer(u):
        _reclassify(turn)
        _confirm(turn)
    else:
        replies.restatement(turn)


def _reclassify(turn: Turn) -> None:
    told = canonical(" ".join(turn.case.account))
    decision = classify(told, turn.dialog)
    if decision.category is not None and (decision.by != "fallback" or turn.case.category is None):
        _classify(turn, decision, told)


def _listening(turn: Turn) -> None:
    if turn.case.misses and turn.u is not None and not turn.u.is_empty:
        _reclassify(turn)
        if turn.case.category is None:
            told = canonical(" ".join(turn.case.account))
            _classify(turn, _fallback(turn, classify(told, turn.dialog)), told)
        _confirm(turn)
        return
    _listen(turn)


def _remedies(turn: Turn) -> tuple[Remedy, Remedy]:
    return remedies_for(turn.case, turn.dialog)


def _offer(turn: Turn) -> None:
    case = turn.case
    first, second = _remedies(turn)
    case.offered = [first.id, second.id]
    turn.move("offering", "confirmed")
    replies.offer(turn, "offer", first, second)


def _offering(turn: Turn) -> None:
    case, u = turn.case, turn.u
    chosen = _chosen_remedy(turn)
    if chosen is not None:
        _commit(turn, chosen)
        return
    intents = u.intents if u else frozenset()
    act = u.act.act if u else None
    if act in ("reject", "no") or "reject" in intents:
        case.rejections += 1
        if "both" in intents or case.rejections >= 2:
            _fire(turn, "rejected_remedies", *case.offered)
            _hand_off(turn, "rejected_remedies")
            return
        first, second = _remedies(turn)
        replies.offer(turn, "offer_again", first, second)
        return
    first, second = _remedies(turn)
    replies.say(turn, "offer_unclear", buttons=replies.remedy_buttons(turn, first, second))


def _chosen_remedy(turn: Turn) -> Remedy | None:
    first, second = _remedies(turn)
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


def _commit(turn: Turn, remedy: Remedy) -> None:
    case, dialog, now = turn.case, turn.dialog, turn.ctx.now
    case.remedy_id = remedy.id
    case.commitment = remedy.commitment.get(case.locale)
    case.due_at = now + remedy.due
    grade = dialog.grades[case.severity]
    case.followup_at = case.due_at + grade.followup_after if _sampled(case, grade.followup_sample) else None
    turn.event("committed", remedy=remedy.id, due_at=case.due_at.isoformat(),
               compensation=remedy.compensation,
               followup_at=case.followup_at.isoformat() if case.followup_at else None)
    turn.move("committed", "remedy_chosen")
    replies.committed(turn)


def _sampled(case: CaseState, share: float) -> bool:
    """Deterministic sampling by case number, so reruns and stories agree."""
    if share >= 1.0:
        return True
    digest = hashlib.sha256(case.number.encode()).digest()
    return digest[0] / 256 < share


# ---------------------------------------------------------------- after a commitment


def _after_commitment(case: CaseState, incoming: Incoming, ctx: Context,
                      u: Understanding | None, payload: str | None) -> Step | None:
    """Messages to a committed or closed case. None means: open a new case instead."""
    turn = Turn(case, ctx, u, payload)
    if case.awaiting and _followup_answer(turn):
        return _finish(turn)
    if payload == HUMAN:
        _escalate_if_risky(turn)
        return _finish(turn)
    if u is None or u.is_empty:
        if case.stage == "closed":
            return None
        replies.say(turn, "thanks_reply", case_number=case.number)
        return _finish(turn)
    # chasing a promise names the problem too ("說好今天寄，怎麼還沒…"): not a new telling
    chasing = case.stage == "committed" and (u.act.act == "progress" or "progress" in u.intents)
    if not chasing and (u.category is not None or u.act.act == "not_solved"
                        or _mentions_case(case, u)):
        if not _same_problem_again(case, u):
            return None
        _reopen(turn)
        return _finish(turn)
    if case.stage == "closed":
        if u.act.act == "thanks":
            replies.say(turn, "thanks_reply", case_number=case.number)
            return _finish(turn)
        return None
    _add_signals(turn, u.signals)
    if _escalate_if_risky(turn):
        return _finish(turn)
    if chasing:
        _chase_progress(turn)
    else:
        replies.say(turn, "thanks_reply", case_number=case.number)
    return _finish(turn)


def _same_problem_again(case: CaseState, u: Understanding) -> bool:
    """After a commitment: the same category, and no order or product that says otherwise."""
    if u.category is not None and u.category != case.category:
        return False
    earlier = Details.from_dict(case.details)
    for new, old in ((u.details.order_numbers, earlier.order_numbers),
                     (u.details.products, earlier.products)):
        if new and old:
            return bool(set(new) & set(old))
    return True


def _mentions_case(case: CaseState, u: Understanding) -> bool:
    earlier = Details.from_dict(case.details)
    return bool(set(earlier.order_numbers) & set(u.details.order_numbers))


def _reopen(turn: Turn) -> None:
    """The same problem came back after a remedy was chosen: reopen, count it as repeated."""
    case, u = turn.case, turn.u
    assert u is not None
    case.reopened += 1
    case.awaiting = None
    case.followup_at = None
    case.closed_at = None
    turn.event("reopened", count=case.reopened)
    case.stage = "listening"
    case.account.append(u.text)
    case.details = Details.from_dict(case.details).merged(u.details).as_dict()
    _add_signals(turn, u.signals)
    _fire(turn, "repeated", f"reopened:{case.reopened}")
    replies.say(turn, "reopen", case_number=case.number)
    if not _escalate_if_risky(turn):
        _confirm(turn)


def _chase_progress(turn: Turn) -> None:
    case = turn.case
    case.progress_asks += 1
    needed = int(turn.dialog.signals["progress_chasing"].params.get("count", 3))
    if case.progress_asks >= needed:
        _fire(turn, "progress_chasing", f"asked {case.progress_asks} times")
        if _escalate_if_risky(turn):
            return
    replies.progress(turn)


# ---------------------------------------------------------------- follow-up


def _followup_due(turn: Turn) -> None:
    """Call back; unanswered `tries` times, the case is closed as "no answer" (never
    counted as satisfied)."""
    case, rules = turn.case, turn.dialog.followups
    if case.awaiting == "followup" and case.followups_sent >= rules.tries:
        case.outcome = "no_answer"
        case.awaiting = None
        case.followup_at = None
        case.closed_at = turn.ctx.now
        turn.event("no_answer", tries=case.followups_sent)
        turn.move("closed", "no_answer")
        return
    _send_followup(turn)


def _send_followup(turn: Turn) -> None:
    case, dialog = turn.case, turn.dialog
    case.followups_sent += 1
    case.awaiting = "followup"
    grade, rules = dialog.grades[case.severity], dialog.followups
    gap = min(grade.followup_every, rules.retry_after) if grade.followup_every else rules.retry_after
    case.followup_at = turn.ctx.now + gap          # the next try, if this one gets no answer
    turn.event("followup_sent", count=case.followups_sent)
    replies.followup(turn)


def _followup_answer(turn: Turn) -> bool:
    """Read an answer to the follow-up or the rating question. False: not an answer."""
    case, u, payload = turn.case, turn.u, turn.payload
    intents = u.intents if u else frozenset()
    if case.awaiting == "remark":
        # After a rating, words about the same matter are a remark; a different problem,
        # a risk signal or "still not solved" is read as what it is.
        new_problem = u is not None and u.category not in (None, case.category)
        if (u is None or u.is_empty or new_problem or u.signals
                or u.act.act in ("not_solved", "partly")):
            case.awaiting = None
            return False
        case.remark = u.text[:2000]
        case.awaiting = None
        turn.event("remark", text=case.remark)
        replies.say(turn, "remark_thanks")
        return True
    if case.awaiting == "rating":
        rating = _rating(payload, u)
        if rating is None:
            return False
        case.csat = rating
        case.awaiting = "remark"
        case.closed_at = turn.ctx.now
        turn.event("rated", csat=rating)
        turn.move("closed", "rated")
        replies.say(turn, "rated", rating=rating)
        return True
    answer = None
    if payload and payload.startswith(FOLLOWUP_PREFIX):
        answer = payload[len(FOLLOWUP_PREFIX):]
    elif u is not None and u.act.act in ("not_solved", "partly", "resolved"):
        answer = u.act.act
    else:
        for name in ("not_solved", "partly", "resolved"):
            if name in intents:
                answer = name
                break
    if answer not in ("resolved", "partly", "not_solved"):
        return False
    case.outcome = answer
    turn.event("followup_answered", outcome=answer)
    if answer == "resolved":
        case.awaiting = "rating"
        case.followup_at = None
        case.fulfilled_at = case.fulfilled_at or turn.ctx.now
        replies.say(turn, "ask_rating", buttons=replies.rating_buttons())
        return True
    _fire(turn, "repeated", f"followup:{answer}")
    promise = _to_team(turn)
    turn.event("escalated", reason=f"followup_{answer}", risk=case.risk, severity=case.severity,
               signals=[s.as_dict() for s in case.signals],
               due=case.first_response_due.isoformat())
    turn.move("handoff", f"followup_{answer}")
    replies.say(turn, "followup_not_solved", case_number=case.number, first_response=promise,
                team=replies.team_name(turn.dialog, case.locale))
    return True


def _rating(payload: str | None, u: Understanding | None) -> int | None:
    raw = payload[len(RATE_PREFIX):] if payload and payload.startswith(RATE_PREFIX) else None
    if raw is None and u is not None:
        digits = [c for c in u.canonical if c in "12345"]
        raw = digits[0] if len(digits) == 1 and len(u.canonical.strip()) <= 8 else None
    return int(raw) if raw and raw in "12345" and len(raw) == 1 else None


# ---------------------------------------------------------------- wiring


STAGE_HANDLERS: dict[str, Callable[[Turn], None]] = {
    "listening": _listening,
    "confirming": _confirming,
    "offering": _offering,
}


def _finish(turn: Turn) -> Step:
    turn.case.updated_at = turn.ctx.now
    return replace(turn.step, case=turn.case)
