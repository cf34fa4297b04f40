"""An English tone score (VADER, which ships its lexicon): a very negative message adds
the `tone` signal, with the lexicon's words that made it negative."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from bot.case import SignalHit
from dialogs.model import Dialog

_WORD = re.compile(r"[A-Za-z']+")


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def tone_hit(text: str, locale: str | None, dialog: Dialog) -> SignalHit | None:
    signal = dialog.signals.get("tone")
    if signal is None or signal.weight <= 0:
        return None
    wanted = signal.params.get("locales", ["en"])
    if locale not in wanted:
        return None
    analyzer = _analyzer()
    compound = analyzer.polarity_scores(text[:2000])["compound"]
    if compound > float(signal.params.get("threshold", -0.6)):
        return None
    lexicon = analyzer.lexicon
    words = [w for w in dict.fromkeys(_WORD.findall(text.lower())) if lexicon.get(w, 0) <= -1.5]
    return SignalHit("tone", signal.weight, (*words[:4], f"vader {compound:.2f}"))
