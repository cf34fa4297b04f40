"""Listening until the problem can be told, restating it, and reading "did I get that
right?" answers (yes, no, corrections)."""

from __future__ import annotations

from bot import replies
from bot.context import Turn
from bot.engine.offering import offer
from bot.engine.telling import classify_case, fallback, is_only_answer, reclassify, summary
from bot.normalize import canonical
from bot.payloads import NO, RETRY, YES
from bot.understanding import classify

MAX_LISTENING_PROMPTS = 2   # short questions while the story is unclear
MAX_MISSES = 2              # "not quite" answers before a person is offered


def listen(turn: Turn) -> None:
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
        decision = fallback(turn, decision)
    classify_case(turn, decision, told)
    confirm(turn)


def listening(turn: Turn) -> None:
    if turn.case.misses and turn.u is not None and not turn.u.is_empty:
        reclassify(turn)
        if turn.case.category is None:
            told = canonical(" ".join(turn.case.account))
            classify_case(turn, fallback(turn, classify(told, turn.dialog)), told)
        confirm(turn)
        return
    listen(turn)


def confirm(turn: Turn) -> None:
    """Restate the problem specifically and ask whether we got it right."""
    case = turn.case
    case.summary = summary(turn)
    turn.move("confirming", "restated")
    replies.restatement(turn)


def confirming(turn: Turn) -> None:
    case, u = turn.case, turn.u
    act = u.act.act if u else None
    if turn.payload == YES or (turn.payload is None and act == "yes"):
        offer(turn)
    elif turn.payload == NO or (turn.payload is None and act == "no"):
        case.misses += 1
        turn.move("listening", "not_quite")
        if case.misses >= MAX_MISSES:
            replies.say(turn, "offer_person", buttons=replies.person_buttons(turn))
        else:
            replies.say(turn, "not_quite")
    elif u is not None and not u.is_empty and not is_only_answer(u):
        reclassify(turn)
        confirm(turn)
    else:
        replies.restatement(turn)
