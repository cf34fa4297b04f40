"""What one customer message says, explained: locale, category and situation, dialog act,
details and risk signals, each decided by a keyword an admin listed or by the text model
trained from the dialog's examples (see `training`), with the reason kept.

Everything is read on `canonical()` text, so one example or word list serves Traditional
and Simplified Chinese. Long messages are read up to `READ_LIMIT` characters (the record
keeps every character).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.case import SignalHit
from bot.details import Details, extract_details
from bot.locale import detect_locale
from bot.normalize import canonical
from bot.signals import find_words
from bot.understanding.cache import model_for, use_folder
from bot.understanding.decide import (
    ActDecision,
    CategoryDecision,
    act_of,
    category_of,
    intents_of,
    lists,
    signals_of,
)
from bot.understanding.model import Scores, TextModel
from dialogs.model import SEVERITIES, Dialog

__all__ = ["CategoryDecision", "Understanding", "classify", "explain_category", "model_for",
           "ready", "severity_for", "understand", "use_folder"]

READ_LIMIT = 4000
_CONTENT = re.compile(r"[^\W_]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NO_ACT = ActDecision("other", 0.0, "model")
_NO_CATEGORY = CategoryDecision(None, None, 0.0, "none", ())


@dataclass(frozen=True, slots=True)
class Understanding:
    text: str                         # as typed, control characters removed, read limit
    canonical: str
    locale: str | None
    decision: CategoryDecision
    act: ActDecision
    details: Details
    signals: tuple[SignalHit, ...]
    intents: frozenset[str]           # intent words found (overrides, `both`)
    is_empty: bool                    # nothing but spaces, punctuation, emoji
    scores: Scores | None = field(default=None, compare=False, repr=False)

    @property
    def category(self) -> str | None:
        return self.decision.category

    @property
    def category_score(self) -> float:
        return self.decision.confidence

    @property
    def category_words(self) -> tuple[str, ...]:
        return self.decision.words


V = TypeVar("V")
REMEMBERED = 20000            # readings kept per kind before the memory starts over
_UNDERSTOOD: dict[tuple[str, str], Understanding] = {}
_CLASSIFIED: dict[tuple[str, str], CategoryDecision] = {}


def _remember(memory: dict[tuple[str, str], V], key: tuple[str, str], value: V) -> V:
    if len(memory) >= REMEMBERED:
        memory.clear()
    memory[key] = value
    return value


def understand(text: str, dialog: Dialog) -> Understanding:
    """Read one message. The same text read against the same dialog version gives the same
    answer, so short replies ("對", "ok thanks") are read once and remembered."""
    key = (dialog.digest, text)
    found = _UNDERSTOOD.get(key)
    return found if found is not None else _remember(_UNDERSTOOD, key, _understand(text, dialog))


def _understand(text: str, dialog: Dialog) -> Understanding:
    clean = _CONTROL.sub("", text[:READ_LIMIT])
    canon = canonical(clean)
    if _CONTENT.search(canon) is None:
        return Understanding(clean, canon, None, _NO_CATEGORY, _NO_ACT, Details(), (),
                             frozenset(), True)
    model = model_for(dialog)
    scores = model.score(canon)
    locale = detect_locale(clean)
    products = find_words(lists(dialog).products, canon)
    # the account of a one-message telling is this text: `classify` finds it remembered
    decision = _remember(_CLASSIFIED, (dialog.digest, canon),
                         category_of(canon, scores, model, dialog))
    return Understanding(
        text=clean, canonical=canon, locale=locale, decision=decision,
        act=act_of(canon, scores, model, dialog),
        details=extract_details(clean, canon, dialog.order_number_pattern, products),
        signals=tuple(signals_of(clean, canon, locale, scores, model, dialog)),
        intents=intents_of(canon, dialog), is_empty=False, scores=scores,
    )


def venting(clause: str, dialog: Dialog) -> float:
    """How sure the model is that a clause is venting (an outburst, insult, threat,
    greeting: nothing to restate) rather than a fact. 0 when the dialog teaches no such
    difference; 1 for a clause with no words at all."""
    u = understand(clause, dialog)
    if u.is_empty or u.scores is None:
        return 1.0
    model = model_for(dialog)
    if "clause:venting" not in model.heads:
        return 0.0
    return model.probability(u.scores, "clause:venting")


def ready(dialog: Dialog) -> None:
    """Load (or train) the dialog's model and the dictionaries reading needs (jieba,
    VADER), so the first customer does not wait for them."""
    model_for(dialog).index_examples()
    understand("您好，我的耳機壞了 my order is late", dialog)


def classify(canonical_text: str, dialog: Dialog) -> CategoryDecision:
    """The category of a whole telling (several messages joined). A turn reads the same
    telling more than once (the message, then the account), so results are remembered
    per dialog version."""
    key = (dialog.digest, canonical_text)
    found = _CLASSIFIED.get(key)
    if found is None:
        model = model_for(dialog)
        found = _remember(_CLASSIFIED, key, category_of(
            canonical_text, model.score(canonical_text[:READ_LIMIT]), model, dialog))
    return found


def explain_category(canonical_text: str, decision: CategoryDecision, dialog: Dialog,
                     read: Understanding | None = None) -> dict[str, Any]:
    """Why this category: the keywords, or the features that pushed it and the nearest
    example from the dialog file. `read` is the message's reading, when it is the text."""
    out: dict[str, Any] = {"by": decision.by, "confidence": round(decision.confidence, 3)}
    if decision.by == "keyword":
        out["keywords"] = list(decision.words)
    model: TextModel = model_for(dialog)
    category = decision.category
    if category is None or "category" not in model.heads:
        return out
    scores = (read.scores if read is not None and read.scores is not None
              and read.canonical == canonical_text else model.score(canonical_text[:READ_LIMIT]))
    if category in model.heads["category"].columns:
        out["features"] = [p.as_dict() for p in model.pushed(scores, "category", category)]
    key = (f"situation:{category}|{decision.situation}" if decision.situation
           else f"category|{category}")
    nearest = model.nearest_example(scores, key)
    if nearest is not None:
        out["nearest_example"] = {"text": nearest[0], "similarity": nearest[1]}
    return out


def severity_for(category: str | None, signals: Sequence[SignalHit], dialog: Dialog) -> str:
    """The category's grade, raised by every signal that names a grade."""
    found = dialog.categories.get(category) if category else None
    base = found.severity if found else "standard"
    rank = SEVERITIES.index(base)
    for hit in signals:
        grade = dialog.signals[hit.name].severity if hit.name in dialog.signals else None
        if grade is not None:
            rank = min(rank, SEVERITIES.index(grade))
    return SEVERITIES[rank]
