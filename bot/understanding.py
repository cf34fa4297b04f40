"""What one customer message says, explained: locale, category (and the words that decided
it), details, risk signals and short answers (intents).

Everything is matched on `canonical()` text, so one word list in the dialog file serves
Traditional and Simplified Chinese. Long messages are read up to `READ_LIMIT` characters
(the record keeps every character).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.case import SignalHit
from bot.details import Details, extract_details
from bot.locale import detect_locale
from bot.normalize import canonical
from bot.signals import WordList, bigrams, find_words, text_signals
from dialogs.model import SEVERITIES, Dialog

READ_LIMIT = 4000
SHORT_ANSWER = 40          # intents are read in messages up to this many characters
PRODUCT_WORD_SCORE = 0.5   # a product mentioned leans towards the `product` category
EXAMPLE_MIN = 0.3          # example sentences count from this similarity up
_CONTENT = re.compile(r"[^\W_]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Understanding:
    text: str                         # as typed, control characters removed, read limit
    canonical: str
    locale: str | None
    category: str | None
    category_score: float
    category_words: tuple[str, ...]
    details: Details
    signals: tuple[SignalHit, ...]
    intents: frozenset[str]
    is_empty: bool                    # nothing but spaces, punctuation, emoji


@dataclass(frozen=True, slots=True)
class _Compiled:
    keywords: dict[str, WordList]
    examples: dict[str, list[set[str]]]
    intents: dict[str, WordList]
    whole: dict[str, frozenset[str]]     # intent words that count only as the whole message
    products: WordList


_COMPILED: dict[str, _Compiled] = {}


def _compiled(dialog: Dialog) -> _Compiled:
    found = _COMPILED.get(dialog.digest)
    if found is None:
        found = _Compiled(
            keywords={c.id: WordList(c.keywords) for c in dialog.categories.values()},
            examples={c.id: [bigrams(e) for e in c.examples] for c in dialog.categories.values()},
            intents={n: WordList(w for w in words if not w.isdigit())
                     for n, words in dialog.intents.items()},
            whole={n: frozenset(w for w in words if w.isdigit())
                   for n, words in dialog.intents.items()},
            products=WordList(dialog.products),
        )
        _COMPILED[dialog.digest] = found
    return found


def understand(text: str, dialog: Dialog) -> Understanding:
    clean = _CONTROL.sub("", text[:READ_LIMIT])
    canon = canonical(clean)
    is_empty = _CONTENT.search(canon) is None
    if is_empty:
        return Understanding(clean, canon, None, None, 0.0, (), Details(), (), frozenset(), True)
    category, score, words = classify(canon, dialog)
    products = find_words(_compiled(dialog).products, canon)
    details = extract_details(clean, canon, dialog.order_number_pattern, products)
    return Understanding(
        text=clean, canonical=canon, locale=detect_locale(clean), category=category,
        category_score=score, category_words=words, details=details,
        signals=tuple(text_signals(clean, canon, dialog)), intents=intents_of(canon, dialog),
        is_empty=False,
    )


Classification = tuple[str | None, float, tuple[str, ...]]
_CLASSIFIED: dict[tuple[str, str], Classification] = {}
_CLASSIFIED_MAX = 20000


def classify(canonical_text: str, dialog: Dialog) -> Classification:
    """The best category by keywords, product words and example sentences.

    Returns (category or None, score, the words that decided it). A turn classifies the
    same telling more than once (the message, then the whole account), so results are
    remembered per dialog version."""
    key = (dialog.digest, canonical_text)
    found = _CLASSIFIED.get(key)
    if found is None:
        found = _classify(canonical_text, dialog)
        if len(_CLASSIFIED) >= _CLASSIFIED_MAX:
            _CLASSIFIED.clear()
        _CLASSIFIED[key] = found
    return found


def _classify(canonical_text: str, dialog: Dialog) -> Classification:
    compiled = _compiled(dialog)
    text = canonical_text[:READ_LIMIT]
    grams = bigrams(text)
    products = find_words(compiled.products, text)
    best: tuple[str | None, float, tuple[str, ...]] = (None, 0.0, ())
    for category in dialog.categories.values():
        words = list(find_words(compiled.keywords[category.id], text))
        score = float(len(words))
        if category.id == "product" and products:
            score += PRODUCT_WORD_SCORE
            words += [p for p in products if p not in words]
        example = max((_jaccard(grams, e) for e in compiled.examples[category.id]), default=0.0)
        if example >= EXAMPLE_MIN:
            score += 2 * example
            words.append(f"~example {example:.2f}")
        if score > best[1]:
            best = (category.id, score, tuple(words))
    return best


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def intents_of(canonical_text: str, dialog: Dialog) -> frozenset[str]:
    """Short answers: yes, no, first, thanks… Read only in short messages (a long
    message is a telling, not an answer), except `progress`."""
    compiled = _compiled(dialog)
    short = len(canonical_text) <= SHORT_ANSWER
    bare = _STRIP.sub("", canonical_text)
    found = set()
    for name, pattern in compiled.intents.items():
        if not short and name != "progress":
            continue
        if bare in compiled.whole[name] or pattern.find(canonical_text):
            found.add(name)
    return frozenset(found)


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
