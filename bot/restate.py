"""The restatement: the customer's problem told back in the bot's voice.

The customer's own words are kept (the item, what went wrong, when, amounts, order
numbers), put in the case's script, fillers dropped, phrases polished and pronouns
turned ("我" -> "您", "你們" -> "我們"; "I" -> "you", "your" -> "our") using the dialog
file's lists, and cut at a clause boundary to the dialog's length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.case import SignalHit
from bot.details import Details
from bot.normalize import to_simplified, to_traditional
from dialogs.model import Dialog

_TAG = re.compile(r"<[^<>]{0,200}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SHOUT = re.compile(r"[!！?？。.~～…]{2,}|[!！]")
_SPACES = re.compile(r"[ \t]{2,}")
_CLAUSE = "，,。.;；、!?！？"
_PAIRS: dict[tuple[str, str, str], tuple[re.Pattern[str], dict[str, str]] | None] = {}


def _pairs_pattern(dialog: Dialog, kind: str, locale: str,
                   pairs: Sequence[tuple[str, str]]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    key = (dialog.digest, kind, locale)
    if key not in _PAIRS:
        table = {a.lower(): b for a, b in pairs if a}
        if not table:
            _PAIRS[key] = None
        else:
            alternatives = []
            for word in sorted(table, key=len, reverse=True):
                escaped = re.escape(word)
                alternatives.append(rf"\b{escaped}\b" if word.isascii() else escaped)
            _PAIRS[key] = (re.compile("|".join(alternatives), re.IGNORECASE), table)
    return _PAIRS[key]


def _swap(text: str, found: tuple[re.Pattern[str], dict[str, str]] | None) -> str:
    if found is None:
        return text
    pattern, table = found
    return pattern.sub(lambda m: table[m.group(0).lower()], text)


def _in_script(text: str, locale: str) -> str:
    if locale == "zh-TW":
        return to_traditional(text)
    if locale == "zh-CN":
        return to_simplified(text)
    return text


def restate(account: Sequence[str], locale: str, dialog: Dialog, details: Details) -> str:
    """The customer's telling in the bot's voice, without the closing punctuation."""
    rules = dialog.restatement
    english = locale == "en"
    parts = []
    for raw in account:
        part = _TAG.sub(" ", raw)
        part = _CONTROL.sub(" ", part)
        part = _SHOUT.sub(", " if english else "，", part)
        part = _SPACES.sub(" ", part).strip(" ，,。.")
        if part:
            parts.append(part)
    text = ("; " if english else "，").join(parts)
    text = _in_script(text, locale)
    fillers = rules.fillers.get(locale, ())
    if fillers:
        text = _swap(text, _pairs_pattern(dialog, "fillers", locale, [(f, "") for f in fillers]))
    text = _swap(text, _pairs_pattern(dialog, "rewrites", locale, rules.rewrites.get(locale, ())))
    text = _swap(text, _pairs_pattern(dialog, "pronouns", locale, rules.pronouns.get(locale, ())))
    text = _SPACES.sub(" ", text).strip(" ，,。.;；")
    if not english:
        text = text.replace("，，", "，")
    if english and len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return _clip(text, rules.max_chars)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = max(text.rfind(c, 0, limit) for c in _CLAUSE)
    if cut >= limit // 2:
        return text[:cut] + "…"
    return text[: limit - 1] + "…"


def empathy_line(category: str, canonical_text: str, locale: str, dialog: Dialog,
                 situation: str | None = None) -> str:
    """The situation's empathy line; else the category's first line whose words occur;
    else its default line."""
    found = dialog.categories[category]
    known = found.situations.get(situation or "")
    if known is not None and known.empathy is not None:
        return known.empathy.get(locale)
    for line in found.empathy:
        if line.when and any(word in canonical_text for word in line.when):
            return line.text.get(locale)
    default = next((line for line in found.empathy if not line.when), None)
    return default.text.get(locale) if default else ""


def feeling(category: str, signals: Sequence[SignalHit], locale: str, dialog: Dialog,
            situation: str | None = None) -> str:
    """The feeling the restatement names: the situation's ("等得很焦急"), else the
    category's ("很困擾" / "frustrating")."""
    found = dialog.categories[category]
    known = found.situations.get(situation or "")
    if known is not None and known.feeling is not None:
        return known.feeling.get(locale)
    return found.feeling.get(locale)
