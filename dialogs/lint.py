"""`heard lint`: the dialog's texts checked against complaint-handling mistakes.

- blaming someone else ("物流公司的問題", "依照規定", "that's the courier's fault");
- promises nobody can keep ("保證絕對不會再發生", "guarantee this will never happen");
- stiff boilerplate ("造成不便敬請見諒", "we apologize for any inconvenience");
- zh-TW texts with Simplified characters or mainland wording, zh-CN texts with
  Traditional characters (OpenCC tells);
- an empathy line that hedges between two situations ("東西沒到，或收到的不是您要的");
- a measure word that does not fit the product after it ("一件全新的加濕器": 台);
- clock times written into a text ("09:00", "3:30 pm"): the engine fills times in;
- a situation of an urgent category without `advice:` for the safety handoff.

A file that does not validate is reported with its validation problems first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import opencc

from bot.normalize import canonical, to_simplified, to_traditional
from dialogs.loader import DialogError, Problem, load_dialog, read_yaml
from dialogs.model import Dialog

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
# Characters Taiwan writes every day that OpenCC folds to another form (台 -> 臺).
TAIWAN_OK_CHARS = frozenset("台")


# zh: 或/或是/或者/還是 between two clauses; en: "or" between two clauses.
_ZH_OR = re.compile(r"或是|或者|還是|还是|或")
_ZH_STILL = re.compile(r"(?:還是|还是)[沒没不很會会被一]")   # 還是 meaning "still"
_ZH_BREAK = re.compile(r"[，,、；;：:]")
_SENTENCE = re.compile(r"[。！？!?.]+")
CLAUSE_MIN = 4          # characters (zh) or words (en) for each side to count as a clause
# A clock time to the minute: 09:00, 3:30 pm, 下午 3 點 30 分.
_CLOCK = re.compile(r"(?<![\d:：])(?:[01]?\d|2[0-3])\s*[:：]\s*[0-5]\d(?!\d)"
                    r"|\d{1,2}\s*[點点时時]\s*\d{1,2}\s*分")
_NUMBER = "一二兩两三四五六七八九十幾几每這这那哪0123456789"
_BETWEEN = ("全新的", "全新", "新的", "新", "同款的", "同款", "一樣的", "正確的", "原本的", "好的")
# Measure words a text may put before a product (canonical script).
_MEASURES = "件個台支雙份杯盒瓶條張組包罐顆片套本盞把副部碗塊隻只"


def lint(path: str | Path) -> list[Problem]:
    try:
        dialog = load_dialog(path)
    except DialogError as exc:
        return exc.problems
    file = str(path)
    data = read_yaml(Path(path).read_text(encoding="utf-8"))
    found = []
    for where, locale, text in _texts(data):
        reasons = check_text(text, locale, _products_of(dialog, locale))
        if ".empathy" in where:
            reasons += hedged(text, locale)
        found += [Problem(file, where, reason) for reason in reasons]
    for cid, category in dialog.categories.items():
        if category.severity != "urgent":
            continue
        for sid, situation in category.situations.items():
            if situation.advice is None:
                found.append(Problem(file, f"categories.{cid}.situations.{sid}",
                                     "an urgent situation without `advice:` (what to do "
                                     "right now, said first in the safety handoff)"))
    return found


def _products_of(dialog: Dialog, locale: str) -> dict[str, str]:
    """Canonical product -> its measure word, as written for the locale."""
    if not locale.startswith("zh"):
        return {}
    out = {}
    for product in dialog.products:
        measure = dialog.measure_word(product, locale)
        if measure:
            out[product] = measure
    return out


def check_text(text: str, locale: str, measures: Mapping[str, str] | None = None) -> list[str]:
    """Every mistake in one text the bot says. `measures` maps canonical products to
    their measure words (`Dialog.measure_word`)."""
    reasons = []
    canon = canonical(text)
    for clock in _CLOCK.findall(text):
        reasons.append(f"a clock time written into the text: {clock!r} (the engine fills "
                       "times in)")
    if measures:
        reasons += wrong_measures(canon, measures)
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


def hedged(text: str, locale: str) -> list[str]:
    """An empathy line that hedges between two things that may have happened: "東西遲遲
    沒到，或收到的不是您要的" / "waiting for something, or getting the wrong thing". A
    list of words ("冒煙、起火或觸電", "smoking, catching fire or shocking you") is fine."""
    reasons = []
    for sentence in _SENTENCE.split(text):
        pairs = _zh_sides(sentence) if locale.startswith("zh") else _en_sides(sentence)
        for left, right in pairs:
            reasons.append(f"an empathy line that hedges between two situations: "
                           f"{left.strip()!r} or {right.strip()!r} (say one thing)")
    return reasons


def _zh_sides(sentence: str) -> list[tuple[str, str]]:
    out = []
    for match in _ZH_OR.finditer(sentence):
        if _ZH_STILL.match(sentence, match.start()):
            continue
        before, after = sentence[:match.start()], sentence[match.end():]
        if before.endswith(("，", ",")):          # "…沒到，或收到的…": the whole clause before
            before = before[:-1]
        elif _ZH_BREAK.search(before[-3:] if len(before) >= 3 else before):
            continue                              # "冒煙、起火或觸電": a list
        left = _ZH_BREAK.split(before)[-1]
        right = _ZH_BREAK.split(after)[0]
        if len(_HAN.findall(left)) >= CLAUSE_MIN and len(_HAN.findall(right)) >= CLAUSE_MIN:
            out.append((left, right))
    return out


def _en_sides(sentence: str) -> list[tuple[str, str]]:
    out = []
    parts = re.split(r"\bor\b", sentence)
    for i in range(1, len(parts)):
        before = parts[i - 1].rstrip()
        if before.endswith(","):                  # "…doesn't come, or getting…"
            before = before[:-1]
        left = re.split(r"[,;:]", before)[-1]
        right = re.split(r"[,;:]", parts[i])[0]
        if len(left.split()) >= CLAUSE_MIN and len(right.split()) >= CLAUSE_MIN:
            out.append((left, right))
    return out


def wrong_measures(canon: str, measures: Mapping[str, str]) -> list[str]:
    """"一件全新的加溼器": a measure word before a product that takes another one."""
    reasons = []
    products = sorted(measures, key=len, reverse=True)
    i = 0
    while i < len(canon):
        product = next((p for p in products if canon.startswith(p, i)), None)
        if product is None:
            i += 1
            continue
        before = canon[max(0, i - 6):i]
        for between in ("", *_BETWEEN):
            if not before.endswith(between):
                continue
            head = before[:len(before) - len(between)]
            if len(head) >= 2 and head[-2] in _NUMBER and head[-1] in _MEASURES:
                if head[-1] != canonical(measures[product]):
                    reasons.append(f"measure word {head[-1]!r} does not fit {product!r} "
                                   f"(use {measures[product]!r}, or {{measure}})")
                break
        i += len(product)
    return reasons


def _taiwan_wording(text: str) -> list[str]:
    reasons = []
    traditional = to_traditional(text)
    odd = sorted({c for c in set(text) if _HAN.match(c) and to_traditional(c) != c
                   and to_simplified(c) == c and c not in TAIWAN_OK_CHARS})
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
    yield from _localized((data.get("team") or {}).get("canned") or {}, "team.canned")
    for cid, category in (data.get("categories") or {}).items():
        base = f"categories.{cid}"
        yield from _one(category.get("name"), f"{base}.name")
        yield from _one(category.get("feeling"), f"{base}.feeling")
        for i, line in enumerate(category.get("empathy") or []):
            yield from _one(line.get("text"), f"{base}.empathy[{i}].text")
        yield from _remedies(category.get("remedies"), base)
        for sid, situation in (category.get("situations") or {}).items():
            where = f"{base}.situations.{sid}"
            for key in ("name", "feeling", "empathy", "advice"):
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
