"""After a remedy was chosen: chases, thanks, the same problem again, and the follow-up
callback with its rating."""

from __future__ import annotations

from bot import replies
from bot.case import CaseState, Step
from bot.context import Context, Turn, finish
from bot.details import Details
from bot.engine.confirming import confirm
from bot.engine.escalation import escalate_if_risky, hand_off, to_team
from bot.engine.telling import add_signals, fire
from bot.payloads import FOLLOWUP_PREFIX, HUMAN, RATE_PREFIX
from bot.types import Incoming
from bot.understanding import Understanding


def after_commitment(case: CaseState, incoming: Incoming, ctx: Context,
                      u: Understanding | None, payload: str | None) -> Step | None:
    """Messages to a committed or closed case. None means: open a new case instead."""
    turn = Turn(case, ctx, u, payload)
    if case.awaiting and _followup_answer(turn):
        return finish(turn)
    if payload == HUMAN:
        escalate_if_risky(turn)
        return finish(turn)
    if u is None or u.is_empty:
        if case.stage == "closed":
            return None
        replies.say(turn, "ok_reply", case_number=case.number)
        return finish(turn)
    # chasing a promise names the problem too ("說好今天寄，怎麼還沒…"): not a new telling
    chasing = case.stage == "committed" and _chasing(case, u)
    if not chasing and (_tells_a_problem(case, u) or u.act.act == "not_solved"
                        or _mentions_case(case, u)):
        if not _same_problem_again(case, u):
            return None
        _reopen(turn)
        return finish(turn)
    if case.stage == "closed":
        if u.act.act == "thanks":
            replies.say(turn, _thanked_back(u), case_number=case.number)
            return finish(turn)
        return None
    add_signals(turn, u.signals)
    if escalate_if_risky(turn):
        return finish(turn)
    if chasing:
        _chase_progress(turn)
    else:
        _answer(turn, u)
    return finish(turn)


def _tells_a_problem(case: CaseState, u: Understanding) -> bool:
    """A problem of its own: another category only when the reading is sure of it or the
    message names another product, so a fact about the arrangement ("收件請改晚上",
    "please collect in the evening") goes into this case's record, not a new case."""
    if u.category is None:
        return False
    if u.category == case.category:
        return True
    named = set(u.details.products) - set(Details.from_dict(case.details).products)
    return u.category_score >= NEW_PROBLEM or bool(named)     # or about something else


NEW_PROBLEM = 0.6          # how sure another category must be to open a case of its own


def _chasing(case: CaseState, u: Understanding) -> bool:
    """Asking where the promise stands: the act, the intent words, or a question about the
    same matter ("你們說今天會寄，怎麼還沒看到追蹤號碼？")."""
    if u.act.act == "progress" or "progress" in u.intents:
        return True
    asks = any(mark in u.text for mark in QUESTION_MARKS)
    return (asks and u.act.act not in ("thanks", "yes", "greeting", "human")
            and u.category in (None, case.category))


QUESTION_MARKS = ("?", "？", "嗎", "吗", "呢")


def _answer(turn: Turn, u: Understanding) -> None:
    """Everything else said to a committed case, each act its own answer."""
    case = turn.case
    act = u.act.act
    if act in ("yes", "thanks", "greeting") and not u.details.order_numbers:
        replies.say(turn, _thanked_back(u), case_number=case.number)
    else:
        # new facts ("訂單編號是…", "我明天不在家") go into the record, acknowledged
        case.account.append(u.text)
        case.details = Details.from_dict(case.details).merged(u.details).as_dict()
        turn.event("added", text=u.text[:500])
        replies.noted(turn)


def _thanked_back(u: Understanding) -> str:
    """"謝謝" is answered "不客氣"; "好" or "ok" only "好的"."""
    return "thanks_reply" if "gratitude" in u.intents else "ok_reply"


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
    add_signals(turn, u.signals)
    fire(turn, "repeated", f"reopened:{case.reopened}")
    replies.say(turn, "reopen", case_number=case.number)
    if not escalate_if_risky(turn):
        confirm(turn)


def _chase_progress(turn: Turn) -> None:
    """The commitment and its due time; a person steps in when the due time has passed or
    on the customer's third chase."""
    case, now = turn.case, turn.ctx.now
    case.progress_asks += 1
    needed = int(turn.dialog.signals["progress_chasing"].params.get("count", 3))
    late = case.due_at is not None and case.due_at <= now and case.fulfilled_at is None
    if late or case.progress_asks >= needed:
        why = "past due" if late else f"asked {case.progress_asks} times"
        fire(turn, "progress_chasing", why)
        if late:
            hand_off(turn, "overdue")
            return
        if escalate_if_risky(turn):
            return
    replies.progress(turn)


def followup_due(turn: Turn) -> None:
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
    fire(turn, "repeated", f"followup:{answer}")
    promise = to_team(turn)
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
