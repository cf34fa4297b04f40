"""Which language the customer writes in: zh-TW, zh-CN or en (None when it cannot be told).

Chinese script is told with OpenCC: characters that only exist in Simplified point to
zh-CN, characters that only exist in Traditional to zh-TW. Text with only characters
shared by both scripts ("你好") says nothing; the caller falls back to profile hints.
"""

from __future__ import annotations

import re

from bot.normalize import to_simplified, to_traditional

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
SAMPLE = 2000


def detect_locale(text: str) -> str | None:
    sample = text[:SAMPLE]
    han = "".join(_HAN.findall(sample))
    if han:
        simplified, traditional = to_simplified(han), to_traditional(han)
        only_traditional = sum(a != b for a, b in zip(han, simplified, strict=False))
        only_simplified = sum(a != b for a, b in zip(han, traditional, strict=False))
        if only_simplified > only_traditional:
            return "zh-CN"
        if only_traditional > only_simplified:
            return "zh-TW"
        return None
    if len(_LATIN_WORD.findall(sample)) >= 1:
        return "en"
    return None
