"""`heard lint`: the dialog's texts checked against complaint-handling mistakes.

- blaming someone else ("物流公司的問題", "依照規定", "that's the courier's fault");
- promises nobody can keep ("保證絕對不會再發生", "guarantee this will never happen");
- stiff boilerplate ("造成不便敬請見諒", "we apologize for any inconvenience");
- zh-TW texts with Simplified characters or mainland wording, zh-CN texts with
  Traditional characters (OpenCC tells).

A file that does not validate is reported with its validation problems first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import opencc

from bot.normalize import canonical, to_simplified, to_traditional
from dialogs.loader import Problem, read_yaml, validate

# Checked on canonical text (one Traditional script, lower case): write each once.
BLAME = (
    "物流公司的問題", "物流的問題", "快遞的問題", "貨運的問題", "廠商的問題", "原廠的問題",
    "不是我們的問題", "不是我們的錯", "與本公司無關", "依照規定", "依規定", "按照規定",
    "根據規定", "根據條款", "依照條款", "公司政策規定", "您自己", "您沒有看清楚",
    "courier's fault", "not our fault", "not our responsibility", "according to our policy",
    "per our policy", "terms and conditions", "your own fault", "you should have",
)
PROMISES = (
    "保證絕對不會再發生", "絕對不會再發生", "保證不會再", "保證不再", "永遠不會再", "百分之百",
    "100%", "一定不會再", "guarantee", "will never happen again", "never happen again",
    "100 percent",
)
BOILERPLATE = (
    "造成不便敬請見諒", "敬請見諒", "不便之處敬請", "造成您的不便", "造成不便", "請耐心等候",
    "您的來電對我們很重要", "感謝您的耐心與支持", "we apologize for any inconvenience",
    "we apologise for any inconvenience", "sorry for any inconvenience",
    "sorry for the inconvenience", "your call is important", "we value your business",
    "thank you for your patience",
)
RULES = (
    ("blames someone else", tuple(canonical(w) for w in BLAME)),
    ("promises what nobody can keep", tuple(canonical(w) for w in PROMISES)),
    ("stiff boilerplate", tuple(canonical(w) for w in BOILERPLATE)),
)
_TO_TAIWAN = opencc.OpenCC("s2twp.json")
_TO_TRADITIONAL = opencc.OpenCC("s2tw.json")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Words used in Taiwan that OpenCC's phrase table (or its word splitting) flags anyway.
TAIWAN_OK = ("聯繫", "存入", "打開", "保存", "了解")


def lint(path: str | Path) -> list[Problem]:
    problems = validate(path)
    if problems:
        return problems
    file = str(path)
    data = read_yaml(Path(path).read_text(encoding="utf-8"))
    found = []
    for where, locale, text in _texts(data):
        for reason in check_text(text, locale):
            found.append(Problem(file, where, reason))
    return found


def check_text(text: str, locale: str) -> list[str]:
    """Every mistake in one text the bot says."""
    reasons = []
    canon = canonical(text)
    for what, phrases in RULES:
        for phrase in phrases:
            if phrase in canon:
                reasons.append(f"{what}: {phrase!r}")
    if locale == "zh-TW":
        reasons += _taiwan_wording(text)
    elif locale == "zh-CN":
        odd = sorted({c for c in set(text) if _HAN.match(c) and to_simplified(c) != c
                       and to_traditional(c) == c})
        if odd:
            reasons.append(f"zh-CN text with Traditional characters: {''.join(odd)}")
    return reasons


def _taiwan_wording(text: str) -> list[str]:
    reasons = []
    traditional = to_traditional(text)
    odd = sorted({c for c in set(text) if _HAN.match(c) and to_traditional(c) != c
                   and to_simplified(c) == c})
    if odd:
        reasons.append(f"zh-TW text with Simplified characters: {''.join(odd)}")
    simplified = to_simplified(traditional)
    plain, taiwan = _TO_TRADITIONAL.convert(simplified), _TO_TAIWAN.convert(simplified)
    if plain != taiwan:
        matcher = difflib.SequenceMatcher(a=plain, b=taiwan, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            window = plain[max(0, i1 - 3):i2 + 3]
            if any(ok in window for ok in TAIWAN_OK):
                continue
            if tag != "equal" and _HAN.search(plain[i1:i2]):
                reasons.append(f"mainland wording {plain[i1:i2]!r} (in Taiwan: {taiwan[j1:j2]!r})")
    return reasons


def _texts(data: Any) -> Iterator[tuple[str, str, str]]:
    """Every localized text in the file: (path, locale, text)."""
    yield from _localized(data.get("texts") or {}, "texts")
    yield from _localized(data.get("buttons") or {}, "buttons")
    for cid, category in (data.get("categories") or {}).items():
        base = f"categories.{cid}"
        yield from _one(category.get("name"), f"{base}.name")
        yield from _one(category.get("feeling"), f"{base}.feeling")
        for i, line in enumerate(category.get("empathy") or []):
            yield from _one(line.get("text"), f"{base}.empathy[{i}].text")
        yield from _remedies(category.get("remedies"), base)
        for sid, situation in (category.get("situations") or {}).items():
            where = f"{base}.situations.{sid}"
            for key in ("name", "feeling", "empathy"):
                yield from _one(situation.get(key), f"{where}.{key}")
            yield from _remedies(situation.get("remedies"), where)


def _remedies(remedies: Any, base: str) -> Iterator[tuple[str, str, str]]:
    for grade, pair in (remedies or {}).items():
        for i, remedy in enumerate(pair or []):
            for key in ("label", "offer", "commitment"):
                yield from _one(remedy.get(key), f"{base}.remedies.{grade}[{i}].{key}")


def _localized(section: dict[str, Any], base: str) -> Iterator[tuple[str, str, str]]:
    for key, value in section.items():
        yield from _one(value, f"{base}.{key}")


def _one(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict):
        for locale, text in value.items():
            if isinstance(text, str):
                yield f"{path}.{locale}", str(locale), text
