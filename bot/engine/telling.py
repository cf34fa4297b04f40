"""What the customer told: the telling, its details and signals, severity, repeats and
the category the telling belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.case import CaseState, SignalHit
from bot.context import Turn
from bot.details import Details, bare_codes
from bot.normalize import canonical
from bot.restate import Restated, restated
from bot.signals import risk_of, similarity
from bot.understanding import CategoryDecision, Understanding, classify, explain_category, severity_for


def note_customer(turn: Turn) -> None:
    """Add what the customer said to the case: the telling, details, signals, severity."""
    u, case = turn.u, turn.case
    if u is None or u.is_empty:
        return
    if case.stage in ("listening", "confirming"):
        known = Details.from_dict(case.details)
        given = _order_given(turn, u, known)
        if given or not is_only_answer(u):
            _check_said_again(turn, u)
            case.account.append(u.text)
            merged = known.merged(u.details)
            if given:
                merged = merged.merged(Details(order_numbers=given))
            case.details = merged.as_dict()
            turn.noted = True
    add_signals(turn, u.signals)


def _order_given(turn: Turn, u: Understanding, known: Details) -> tuple[str, ...]:
    """Asked for the order number, a customer often sends just the code ("TW2026112201"):
    in a short message with no number found otherwise, a code with five digits or more is
    the order number (phone numbers are not)."""
    if known.order_numbers or len(u.text) > 40 or u.details.phones:
        return ()
    wanted = turn.dialog.categories.get(turn.case.category or "")
    if turn.case.stage != "confirming" or wanted is None or not wanted.wants_order_number:
        return ()
    return bare_codes(u.text)[:1]


def _check_said_again(turn: Turn, u: Understanding) -> None:
    """The same complaint told again in this case (not a correction) is `repeated`."""
    if u.category is None or "repeated" in turn.case.signal_names():
        return
    threshold = float(turn.dialog.signals["repeated"].params.get("similarity", 0.5))
    for earlier in turn.case.account:
        if similarity(u.canonical, canonical(earlier)) >= max(threshold, 0.8):
            fire(turn, "repeated", "said again")
            return


ANSWER_ACTS = frozenset({"yes", "no", "first", "second", "reject", "thanks", "greeting",
                         "resolved", "partly", "not_solved", "human"})


def is_only_answer(u: Understanding) -> bool:
    """A short yes/no/thanks/greeting carries no new facts for the telling."""
    return u.category is None and u.act.act in ANSWER_ACTS and not u.details.order_numbers


def add_signals(turn: Turn, hits: Sequence[SignalHit]) -> None:
    case = turn.case
    for hit in hits:
        case.signals.append(hit)
        turn.event("signal", name=hit.name, weight=hit.weight, words=list(hit.words))
    if hits:
        case.risk = risk_of(case.active_signals())
        case.severity = severity(turn)


def severity(turn: Turn) -> str:
    """Derived, never stored apart: the category's grade raised by every signal so far."""
    return severity_for(turn.case.category, turn.case.signals, turn.dialog)


def fire(turn: Turn, name: str, *words: str) -> None:
    signal = turn.dialog.signals[name]
    add_signals(turn, [SignalHit(name, signal.weight, tuple(words))])


def check_repeat_of_earlier(turn: Turn) -> None:
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
            fire(turn, "repeated", earlier.number)
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


def classify_case(turn: Turn, decision: CategoryDecision, told: str) -> None:
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
    case.severity = severity(turn)
    case.first_response_due = case.received_at + turn.dialog.grades[case.severity].first_response


def told(case: CaseState) -> str:
    """The telling as one canonical text, for classifying."""
    return canonical(" ".join(case.telling()))


def reclassify(turn: Turn) -> None:
    """Classify the telling again (it grew or was corrected); an unsure model keeps what
    was decided, and a case with no category yet gets the fallback."""
    text = told(turn.case)
    decision = classify(text, turn.dialog)
    if decision.category is None or decision.by == "fallback":
        if turn.case.category is not None:
            return
        decision = fallback(turn, decision)
    classify_case(turn, decision, text)


def fallback(turn: Turn, decision: CategoryDecision) -> CategoryDecision:
    """The model is not sure and the customer was asked: the dialog's fallback category."""
    return CategoryDecision(turn.dialog.understanding.fallback_category, None,
                            decision.confidence, "fallback", decision.words)


def summary(turn: Turn) -> Restated:
    """The case's telling restated (`case.summary` is its text)."""
    case = turn.case
    return restated(case.telling(), case.locale, turn.dialog, Details.from_dict(case.details),
                    case.situation, case.category)
