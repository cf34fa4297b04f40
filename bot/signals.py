"""Word lists, the `exclamation` signal, similarity and risk: the rule-based parts of
reading a message. Text signals (threat, safety, insult, …) are decided in
`bot.understanding.decide`; `repeated`, `rejected_remedies` and `progress_chasing` are
facts about the conversation and are fired by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.case import SignalHit
from dialogs.model import Dialog

_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


_ASCII_WORD_CHAR = re.compile(r"[a-z0-9]")


class WordList:
    """A word list to find in canonical text. Chinese phrases match anywhere (plain
    substring tests, fast in C); ASCII words need word boundaries ("sue" is not in
    "issue", "1950" is not in "19500"). A word inside a longer word that was found
    ("沒收到" in "還沒收到") is not counted again."""

    def __init__(self, words: Iterable[str]) -> None:
        # longest first; words of one length in the dialog's order (a set's order changes
        # from one process to the next, and with it which product a restatement names)
        ordered = sorted(dict.fromkeys(w for w in words if w), key=len, reverse=True)
        self.plain = tuple(w for w in ordered if not w.isascii())
        # one compiled pass tells whether any Chinese phrase is there at all
        self.any_plain = re.compile("|".join(map(re.escape, self.plain))) if self.plain else None
        ascii_words = [w for w in ordered if w.isascii()]
        # one alternation behind one boundary check, longest words first
        self.pattern = re.compile(
            r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, ascii_words)) + r")(?![a-z0-9])"
        ) if ascii_words else None

    def may_contain(self, text: str) -> bool:
        """Whether any word of the list may be in the text (one compiled pass each for the
        Chinese and the ASCII words): False means `find` finds nothing."""
        return bool((self.any_plain is not None and self.any_plain.search(text))
                    or (self.pattern is not None and self.pattern.search(text)))

    def find(self, text: str) -> tuple[str, ...]:
        found: list[str] = []
        if self.any_plain is not None and self.any_plain.search(text):
            for word in self.plain:
                if word in text and not any(word in longer for longer in found):
                    found.append(word)
        if self.pattern is not None and _ASCII_WORD_CHAR.search(text):
            found.extend(m.group(0) for m in self.pattern.finditer(text))
        return tuple(dict.fromkeys(found))


def find_words(words: WordList | None, canonical_text: str) -> tuple[str, ...]:
    return words.find(canonical_text) if words is not None else ()


def exclamation(text: str, dialog: Dialog) -> tuple[str, ...]:
    params = dialog.signals["exclamation"].params
    min_run = int(params.get("min_run", 3))
    caps_needed = int(params.get("caps_words", 2))
    runs = re.findall(rf"[!?！？]{{{min_run},}}", text)
    caps = _CAPS_WORD.findall(text)
    words = [r[:10] for r in runs]
    if len(caps) >= caps_needed:
        words += caps[:5]
    return tuple(dict.fromkeys(words))


def bigrams(text: str) -> set[str]:
    squeezed = _PUNCT.sub("", text)
    if len(squeezed) < 2:
        return {squeezed} if squeezed else set()
    return {squeezed[i:i + 2] for i in range(len(squeezed) - 1)}


def similarity(a: str, b: str) -> float:
    """Character-bigram Jaccard similarity of two canonical texts, 0..1."""
    x, y = bigrams(a[:2000]), bigrams(b[:2000])
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def risk_of(hits: Sequence[SignalHit]) -> float:
    """The case's risk: per distinct signal its highest weight, summed."""
    best: dict[str, float] = {}
    for hit in hits:
        best[hit.name] = max(best.get(hit.name, 0.0), hit.weight)
    return round(sum(best.values()), 4)
