"""Decisions from one message: category and situation, dialog act, risk signals.

Admins stay in control: a keyword (category keywords, signal phrases, intent words) decides
and says so (`by="keyword"`); otherwise the trained model decides (`by="model"`) when it is
sure enough, and a telling it is not sure of gets the dialog's fallback category
(`by="fallback"`). `none` means the message is no complaint at all (hi, thanks, yes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.case import SignalHit
from bot.signals import WordList, exclamation, find_words
from bot.understanding.model import Scores, TextModel
from bot.understanding.tone import tone_hit
from dialogs.model import ACT_NAMES, TEXT_SIGNALS, Dialog

# intent word lists that name an act when they are the whole message
INTENT_ACTS = ("yes", "no", "reject", "first", "second", "progress", "thanks", "greeting",
               "resolved", "partly", "not_solved")
# acts that carry no complaint of their own (an ask for a person or a chase may)
NOT_A_COMPLAINT = frozenset({"yes", "no", "first", "second", "reject", "thanks", "greeting",
                             "resolved", "partly", "vague"})
SHORT_ANSWER = 40          # intent words are read in messages up to this many characters
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class CategoryDecision:
    category: str | None
    situation: str | None
    confidence: float
    by: str                       # keyword | model | fallback | none
    words: tuple[str, ...]        # the keywords, or the features that pushed most

    def as_tuple(self) -> tuple[str | None, float, tuple[str, ...]]:
        return self.category, self.confidence, self.words


@dataclass(frozen=True, slots=True)
class ActDecision:
    act: str
    confidence: float
    by: str                       # keyword | model


@dataclass(frozen=True, slots=True)
class _Lists:
    keywords: dict[str, WordList]
    phrases: dict[str, WordList]
    intents: dict[str, WordList]
    whole: dict[str, frozenset[str]]
    products: WordList
    any_keyword: WordList         # every category's keywords: most texts have none at all
    any_phrase: WordList          # every text signal's phrases
    any_intent: WordList          # every intent's words


_LISTS: dict[str, _Lists] = {}


def lists(dialog: Dialog) -> _Lists:
    found = _LISTS.get(dialog.digest)
    if found is None:
        found = _Lists(
            keywords={c.id: WordList(c.keywords) for c in dialog.categories.values()},
            phrases={n: WordList(dialog.signals[n].phrases) for n in TEXT_SIGNALS},
            intents={n: WordList(w for w in words if not w.isdigit())
                     for n, words in dialog.intents.items()},
            whole={n: frozenset(_STRIP.sub("", w) for w in words)
                   for n, words in dialog.intents.items()},
            products=WordList(dialog.products),
            any_keyword=WordList(w for c in dialog.categories.values() for w in c.keywords),
            any_phrase=WordList(w for n in TEXT_SIGNALS for w in dialog.signals[n].phrases),
            any_intent=WordList(w for words in dialog.intents.values() for w in words
                                if not w.isdigit()),
        )
        _LISTS[dialog.digest] = found
    return found


def category_of(canonical_text: str, scores: Scores, model: TextModel,
                dialog: Dialog) -> CategoryDecision:
    totals = model.probabilities(scores, "category") if "category" in model.heads else {}
    compiled = lists(dialog)
    hits = ({cid: find_words(words, canonical_text) for cid, words in compiled.keywords.items()}
            if compiled.any_keyword.may_contain(canonical_text) else {})
    hits = {cid: words for cid, words in hits.items() if words}
    if hits:
        best = max(hits, key=lambda c: (len(hits[c]), totals.get(c, 0.0)))
        return CategoryDecision(best, situation_of(best, scores, model), totals.get(best, 1.0),
                                "keyword", hits[best])
    answer = _answer_share(scores, model, dialog)
    if not totals or answer is not None:
        return CategoryDecision(None, None, answer or 0.0, "none", ())
    best = max(totals, key=lambda c: totals[c])
    if best == "safety" and not _safety_evidence(canonical_text, scores, model, dialog):
        best = max((c for c in totals if c != "safety"), key=lambda c: totals[c], default=best)
    # the features that pushed it are worked out when the decision is explained
    if totals[best] < dialog.understanding.confidence:
        fallback = dialog.understanding.fallback_category
        return CategoryDecision(fallback, None, totals[best], "fallback", ())
    return CategoryDecision(best, situation_of(best, scores, model), totals[best], "model", ())


def _safety_evidence(canonical_text: str, scores: Scores, model: TextModel,
                     dialog: Dialog) -> bool:
    """A safety case sends a person running: the model's hunch needs the `safety` signal's
    phrases or its own learned part to agree."""
    if find_words(lists(dialog).phrases["safety"], canonical_text):
        return True
    if "signal:safety" not in model.heads:
        return True
    p = model.probability(scores, "signal:safety")
    return p >= dialog.signals["safety"].min_confidence


def _answer_share(scores: Scores, model: TextModel, dialog: Dialog) -> float | None:
    """The share of the act that makes this message no complaint (a greeting, thanks, a
    yes or a choice), when the act model is sure of one; else None."""
    if "act" not in model.heads:
        return None
    shares = model.probabilities(scores, "act")
    best = max(shares, key=lambda a: shares[a])
    if best in NOT_A_COMPLAINT and shares[best] >= dialog.understanding.act_confidence:
        return shares[best]
    return None


def situation_of(category: str, scores: Scores, model: TextModel) -> str | None:
    head = f"situation:{category}"
    if head not in model.heads:
        return None
    shares = model.probabilities(scores, head)
    return max(shares, key=lambda s: shares[s])


def intents_of(canonical_text: str, dialog: Dialog) -> frozenset[str]:
    """The intent words found: whole short messages (or a word inside one). `progress`
    is read in long messages too."""
    compiled = lists(dialog)
    short = len(canonical_text) <= SHORT_ANSWER
    bare = _STRIP.sub("", canonical_text)
    maybe = compiled.any_intent.may_contain(canonical_text) if short else True
    found = set()
    for name, pattern in compiled.intents.items():
        if not short and name != "progress":
            continue
        if bare in compiled.whole[name] or (maybe and pattern.find(canonical_text)):
            found.add(name)
    return frozenset(found)


def act_of(canonical_text: str, scores: Scores, model: TextModel, dialog: Dialog) -> ActDecision:
    bare = _STRIP.sub("", canonical_text)
    whole = lists(dialog).whole
    matched = [name for name in INTENT_ACTS if bare and bare in whole.get(name, ())]
    if len(matched) == 1:
        return ActDecision(matched[0], 1.0, "keyword")
    if "act" not in model.heads:
        return ActDecision("other", 0.0, "model")
    shares = model.probabilities(scores, "act")
    best = max(shares, key=lambda a: shares[a])
    if best not in ACT_NAMES or shares[best] < dialog.understanding.act_confidence:
        return ActDecision("other", shares.get("other", 0.0), "model")
    return ActDecision(best, shares[best], "model")


def signals_of(text: str, canonical_text: str, locale: str | None, scores: Scores,
               model: TextModel, dialog: Dialog) -> list[SignalHit]:
    """The signals one message fires, each with the words (or features) that fired it.
    `text` is as typed (capitals matter)."""
    hits = []
    compiled = lists(dialog)
    maybe = compiled.any_phrase.may_contain(canonical_text)
    for name in TEXT_SIGNALS:
        signal = dialog.signals[name]
        words = find_words(compiled.phrases[name], canonical_text) if maybe else ()
        if not words and f"signal:{name}" in model.heads:
            p = model.probability(scores, f"signal:{name}")
            if p >= signal.min_confidence:
                pushed = model.pushed(scores, f"signal:{name}", name, top=3)
                words = tuple(x.text for x in pushed) or (f"p={p:.2f}",)
                words = (*words, f"~{p:.2f}")
        if words:
            hits.append(SignalHit(name, signal.weight, tuple(words)))
    shout = exclamation(text, dialog)
    if shout:
        hits.append(SignalHit("exclamation", dialog.signals["exclamation"].weight, shout))
    tone = tone_hit(text, locale, dialog)
    if tone is not None:
        hits.append(tone)
    return hits
