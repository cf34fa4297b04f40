"""Listening until the problem can be told, restating it, and reading "did I get that
right?" answers: yes, no, a correction that replaces what was understood, and an addition
that adds to it."""

from __future__ import annotations

from bot import replies
from bot.amend import amend, corrects
from bot.context import Turn
from bot.details import Details
from bot.engine.offering import offer
from bot.engine.telling import classify_case, fallback, reclassify, summary, told
from bot.payloads import NO, RETRY, YES
from bot.restate import Restated
from bot.understanding import Understanding, classify

MAX_LISTENING_PROMPTS = 2   # short questions while the story is unclear
MAX_MISSES = 2              # misunderstandings before a person is offered
REPLACING = frozenset({"no", "correction"})    # "不對，是…": the telling is told anew


def listen(turn: Turn) -> None:
    """Keep listening until the category can be told; ask one short question at a time."""
    case, u = turn.case, turn.u
    if turn.payload == RETRY:
        case.telling_from, case.amended, case.refused = len(case.account), [], []
        replies.say(turn, "ask_more")
        return
    if not case.telling():
        if u is None or u.is_empty:
            replies.say(turn, "empty" if u is not None
                        else "evidence_ask" if turn.attachment is not None else "non_text")
            return
        if u.act.act == "greeting" and case.prompts == 0:
            case.prompts += 1
            replies.say(turn, "greeting")
            return
    text = told(case)
    decision = classify(text, turn.dialog)
    if decision.category is None or decision.by == "fallback":
        if case.prompts < MAX_LISTENING_PROMPTS:
            case.prompts += 1
            replies.say(turn, "ask_more" if case.prompts == 1 else "ask_more_again")
            turn.event("prompted", count=case.prompts)
            return
        decision = fallback(turn, decision)
    classify_case(turn, decision, text)
    confirm(turn)


def listening(turn: Turn) -> None:
    """After "not quite" the next message tells the problem anew."""
    if turn.case.misses and turn.u is not None and not turn.u.is_empty:
        if turn.case.refused:                     # the first message since "not quite"
            _read_in(turn, turn.case.refused, turn.u)
        reclassify(turn)
        _restate_again(turn, turn.case.summary or "")
        return
    listen(turn)


def confirm(turn: Turn, lead: str = "", said: Restated | None = None) -> None:
    """Restate the problem specifically (`said`, when it was just restated) and ask
    whether we got it right."""
    case = turn.case
    said = said or summary(turn)
    case.summary = said.text
    turn.move("confirming", "restated")
    replies.restatement(turn, said.accused, lead, offer_person=case.misses >= MAX_MISSES)


def confirming(turn: Turn) -> None:
    case, u = turn.case, turn.u
    act = u.act.act if u else None
    says_more = turn.noted
    if turn.payload == YES or (turn.payload is None and act == "yes" and not says_more):
        offer(turn)
    elif turn.payload == NO or (turn.payload is None and act in REPLACING and not says_more):
        if turn.payload is None and u is not None and corrects(case.telling(), u.text):
            _corrected(turn, u, replacing=True)    # "不對，是五天": a no that puts a part right
        else:
            _not_quite(turn)
    elif u is not None and says_more:
        _corrected(turn, u, replacing=act in REPLACING
                   or corrects(case.telling()[:-1], u.text))
    else:
        replies.restatement(turn, summary(turn).accused, offer_person=case.misses >= MAX_MISSES)


def _not_quite(turn: Turn) -> None:
    """A bare "no": the next message tells it anew (what was said stays in the record)."""
    case = turn.case
    case.misses += 1
    case.refused = case.telling()
    case.telling_from, case.amended = len(case.account), []
    turn.move("listening", "not_quite")
    if case.misses >= MAX_MISSES:
        replies.say(turn, "offer_person", buttons=replies.person_buttons(turn))
    else:
        replies.say(turn, "not_quite")


def _corrected(turn: Turn, u: Understanding, replacing: bool) -> None:
    """"不對，是湯灑了一半" replaces what was understood; "還有，盒子也破了" adds to it. The
    category and situation follow the corrected telling; new facts are acknowledged first."""
    case = turn.case
    before = case.summary or ""
    if replacing:
        case.misses += 1
        # the correction, when it was noted, is the telling's last message; with nothing
        # told since "not quite", it corrects the telling refused then
        told = case.telling()[:-1] if turn.noted else case.telling()
        _read_in(turn, told or case.refused, u)
        turn.event("corrected", text=u.text[:500])
    else:
        turn.event("added", text=u.text[:500])
    reclassify(turn)
    _restate_again(turn, before, replacing)


def _read_in(turn: Turn, before: list[str], u: Understanding) -> None:
    """The correction read into the telling it corrects (`bot.amend`: "不是一個禮拜，是兩個
    禮拜" puts one part right), or, when it tells the problem anew (then it is the account's
    last message), the telling starting again from it."""
    case = turn.case
    amended = amend(before, u.text, turn.dialog, told=turn.noted) if before else None
    if amended is not None:
        case.telling_from, case.amended, case.refused = len(case.account), amended, []
        turn.event("amended", telling=[m[:500] for m in amended])
    elif turn.noted:                   # told anew: the telling starts again from it
        case.telling_from, case.amended, case.refused = len(case.account) - 1, [], []
    # else nothing was told ("not x, not x", an emoji): the next message may still correct

def _restate_again(turn: Turn, before: str, replacing: bool = True) -> None:
    """Restate the corrected telling. Never the very restatement just refused: if the
    correction changed nothing we can tell, ask what differs instead."""
    case = turn.case
    lead = _acknowledged(turn, replacing)
    said = summary(turn)
    if said.text == before and replacing:
        turn.move("listening", "unchanged")
        if case.misses >= MAX_MISSES:
            replies.say(turn, "offer_person", buttons=replies.person_buttons(turn))
        else:
            replies.say(turn, "not_quite_which")
        return
    confirm(turn, lead, said)


def _acknowledged(turn: Turn, replacing: bool) -> str:
    """What the customer just added, acknowledged before anything else."""
    u, dialog, locale = turn.u, turn.dialog, turn.case.locale
    if u is None:
        return ""
    known = Details.from_dict(turn.case.details).order_numbers
    new_orders = [n for n in known if n.lower() in u.text.lower()]
    if new_orders and len(u.canonical) <= 40:
        return dialog.text("noted_order", locale, order=", ".join(new_orders))
    return dialog.text("noted_correction" if replacing else "noted_more", locale)
