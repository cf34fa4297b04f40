"""Text normalisation so one keyword list serves Traditional and Simplified Chinese.

`canonical()` is what matching runs on: Unicode NFKC (which also folds full-width
letters, digits and punctuation to half width), lower case, and Chinese characters
mapped to one Traditional form with OpenCC. Simplified and Traditional spellings of
the same word end up identical: 加湿器, 加濕器 and 加溼器 all become 加溼器.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import opencc

_TO_SIMPLIFIED = opencc.OpenCC("tw2s.json")
_TO_TRADITIONAL = opencc.OpenCC("s2tw.json")


def fold(text: str) -> str:
    """NFKC + lower case: full width to half width, compatibility forms folded."""
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=65536)
def _canonical_cached(text: str) -> str:
    return _TO_TRADITIONAL.convert(_TO_SIMPLIFIED.convert(fold(text)))


def canonical(text: str) -> str:
    """The form all matching runs on (see module docstring)."""
    if len(text) > 512:
        return _TO_TRADITIONAL.convert(_TO_SIMPLIFIED.convert(fold(text)))
    return _canonical_cached(text)


def to_simplified(text: str) -> str:
    return str(_TO_SIMPLIFIED.convert(text))


def to_traditional(text: str) -> str:
    return str(_TO_TRADITIONAL.convert(text))


def in_script(text: str, locale: str) -> str:
    """Text in a locale's script: Traditional for zh-TW, Simplified for zh-CN, else as is."""
    if locale == "zh-TW":
        return to_traditional(text)
    if locale == "zh-CN":
        return to_simplified(text)
    return text
