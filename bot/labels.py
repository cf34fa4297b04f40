"""Labels on cases: an agent adds or removes one (recorded as a case event with who).

A label is a dialog label's id (`dialogs.labels`) or a free label an agent typed: trimmed,
inner spaces collapsed, at most `NAME_LIMIT` characters. Typing a dialog label's id or its
name in any locale (退款, Refund) gives that label, so one label is never kept twice under
two spellings. Labels do not change who owns the case or what the customer hears, so
anyone signed in may label any case. Pure functions like `bot.agents`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from bot.agents import ActionError
from bot.case import CaseState, Step
from bot.context import Context, Turn, finish
from dialogs.labels import NAME_LIMIT, Label

MAX_PER_CASE = 10


def label_for(text: str, labels: Mapping[str, Label]) -> str:
    """The label `text` stands for: a dialog label's id, or the text itself, tidied."""
    tidy = " ".join(text.split())
    if not tidy:
        raise ActionError("the label is empty")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in tidy):
        raise ActionError("the label has invisible control characters; type it again")
    folded = tidy.casefold()
    for label in labels.values():
        if folded == label.id or folded in {n.strip().casefold() for n in label.name.values.values()}:
            return label.id
    if len(tidy) > NAME_LIMIT:
        raise ActionError(f"the label is {len(tidy)} characters; at most {NAME_LIMIT} fit")
    return tidy


def label(case: CaseState, agent: str, text: str, ctx: Context) -> Step:
    """Put a label on the case."""
    name = label_for(text, ctx.dialog.labels)
    if name in case.labels:
        raise ActionError(f"case {case.number} already has the label {name}")
    if len(case.labels) >= MAX_PER_CASE:
        raise ActionError(f"case {case.number} has {MAX_PER_CASE} labels; remove one first")
    turn = Turn(case, ctx, None, None)
    case.labels = [*case.labels, name]
    turn.event("labelled", agent=agent, label=name)
    return finish(turn)


def unlabel(case: CaseState, agent: str, text: str, ctx: Context) -> Step:
    """Take a label off the case (as shown: its id or the free label's text)."""
    name = text if text in case.labels else label_for(text, ctx.dialog.labels)
    if name not in case.labels:
        raise ActionError(f"case {case.number} has no label {name}")
    turn = Turn(case, ctx, None, None)
    case.labels = [x for x in case.labels if x != name]
    turn.event("unlabelled", agent=agent, label=name)
    return finish(turn)
