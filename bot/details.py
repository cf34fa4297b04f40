"""Facts a customer mentions: order numbers, dates, amounts, products, phones, e-mails.

Phone numbers and e-mail addresses are personal data: `mask_pii()` hides them wherever
text is logged or printed for staff tooling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from bot.normalize import fold

# Every repetition is bounded and numbers can only start where a number starts, so each
# pattern costs a few steps per character whatever the text: a 100,000-digit message is
# read in milliseconds (an unbounded `\d+` before a suffix that never comes is quadratic).
# Lookarounds are ASCII-only on purpose: `\w` would count Chinese characters as part of a
# word, and 我的電話0912345678 would not be a phone number.
DETAIL_LIMIT = 4000        # characters of one message the extractors read
_SEP = r"[-\s.]?"          # one optional separator between digit groups
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
                    r"\.[A-Za-z]{2,24}")
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?:"
    rf"(?:\(?(?:\+|00)?886\)?{_SEP}(?:\(0\){_SEP})?|0)9(?:{_SEP}\d){{8}}"       # Taiwan mobile
    rf"|(?:\(?(?:\+|00)?86\)?{_SEP})?1[3-9]\d(?:{_SEP}\d){{8}}"                # mainland mobile
    rf"|(?:\(?(?:\+|00)?886\)?{_SEP}(?:\(0\){_SEP})?|\(?0)\(?[2-8]\d{{0,2}}\)?"  # Taiwan landline
    rf"{_SEP}\d(?:{_SEP}\d){{5,7}}"
    rf"|\+[1-9]\d{{0,2}}(?:{_SEP}(?:\(\d{{1,4}}\)|\d)){{6,14}}"                 # international
    r")(?![0-9A-Za-z])"
)
_UNIT = r"(?:元|塊|块|dollars?|ntd|twd|rmb|yuan)"
_CN_DIGITS = "一二兩两三四五六七八九十百千萬万"
_NUMBER = r"\d(?:[\d,]{0,15}\d)?(?:\.\d{1,4})?"
_AMOUNT = re.compile(
    rf"(?:(?:nt\$|ntd|twd|rmb|us\$|\$|¥|￥|新台幣|台幣|臺幣|人民幣|人民币)\s?{_NUMBER}"
    rf"|(?<![\d,]){_NUMBER}\s?{_UNIT}"
    rf"|(?<![{_CN_DIGITS}])[{_CN_DIGITS}]{{1,12}}(?:元|塊|块))",
    re.IGNORECASE,
)
_DATE_NUMBER = "\\d一二兩两三四五六七八九十半"
_DATE = re.compile(
    r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
    r"|\d{1,2}/\d{1,2}"
    r"|\d{1,2}月\d{1,2}[日號号]"
    r"|今天|昨天|前天|上週|上周|上禮拜|上个月|上個月|剛剛|刚刚|早上|晚上|下午|上午"
    rf"|(?<![{_DATE_NUMBER}])[{_DATE_NUMBER}]{{1,8}}\s?(?:天|個小時|个小时|小時|小时|週|周|個禮拜|"
    r"个礼拜|禮拜|星期|個月|个月|分鐘|分钟)"
    r"|\b(?:today|yesterday|last (?:week|month|night)|this morning)\b"
    r"|\b\d{1,8}\s?(?:days?|hours?|weeks?|months?|minutes?)\b)",
    re.IGNORECASE,
)
_GENERIC_ORDER = re.compile(r"#\s?([A-Za-z]{0,4}\d{5,20})\b")
_SPACES = re.compile(r"\s{2,}")
_ANY_DIGIT = re.compile(r"\d")            # every phone pattern needs one


@dataclass(frozen=True, slots=True)
class Details:
    order_numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def merged(self, other: Details) -> Details:
        return Details(*(_unique(getattr(self, name) + getattr(other, name))
                         for name in _DETAIL_FIELDS))

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in _DETAIL_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Details:
        data = data or {}
        return cls(*(tuple(data.get(name) or ()) for name in _DETAIL_FIELDS))


_DETAIL_FIELDS = tuple(f.name for f in fields(Details))     # in order: positional arguments


def _unique(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@lru_cache(maxsize=32)
def order_regex(pattern: str) -> re.Pattern[str]:
    """The dialog's order-number pattern, compiled once (case does not matter)."""
    return re.compile(pattern, re.IGNORECASE)


def extract_details(text: str, canonical_text: str, order_pattern: str,
                    products: tuple[str, ...]) -> Details:
    """Find the facts in one message. `text` is as typed; `canonical_text` is canonical().

    Only the first `DETAIL_LIMIT` characters are read. The dialog's order-number pattern is
    written by admins: runs of white space are squeezed to one space before it runs, so a
    pattern like `order\\s*(?:no)?\\s*[:#]?\\s*(...)` cannot backtrack over a long run."""
    folded = fold(text[:DETAIL_LIMIT])
    canonical_text = canonical_text[:DETAIL_LIMIT]
    squeezed = _SPACES.sub(" ", folded)
    orders = [m.group(1).upper() for m in order_regex(order_pattern).finditer(squeezed)]
    # the patterns below are only run where what they need is there at all (most
    # messages have no "#", no "@", often no digit)
    if "#" in folded:
        orders += [m.group(1).upper() for m in _GENERIC_ORDER.finditer(folded)]
    phones = ([m.group(0).strip() for m in _PHONE.finditer(folded)]
              if _ANY_DIGIT.search(folded) else [])
    emails = _EMAIL.findall(folded) if "@" in folded else []
    return Details(
        order_numbers=_unique(orders),
        dates=_unique([m.group(0).strip() for m in _DATE.finditer(folded)]),
        amounts=_unique([m.group(0).strip() for m in _AMOUNT.finditer(folded)]),
        products=_unique([p for p in products if p in canonical_text]),
        phones=_unique(phones),
        emails=_unique(emails),
    )


_BARE_CODE = re.compile(r"(?<![\w-])([A-Za-z]{0,4}\d[A-Za-z0-9-]{4,23})(?![\w-])")


def bare_codes(text: str) -> tuple[str, ...]:
    """Codes that may be an order number sent on its own ("TW2026112201", "A20261123-77"):
    a few letters at most, then five digits or more among letters and dashes."""
    return tuple(m.group(1).upper() for m in _BARE_CODE.finditer(fold(text[:DETAIL_LIMIT]))
                 if sum(c.isdigit() for c in m.group(1)) >= 5)


def mask_pii(text: str) -> str:
    """Hide phone numbers and e-mail addresses: 0912-345-678 -> 09**-***-*78,
    amy.lee@example.com -> a***@example.com. Everything else is left exactly as written.

    The patterns run on a half-width copy (０９１２ and ＠ cannot slip past them); the copy
    has the same length, so what they find is masked in the text as written."""
    if not text:
        return text
    folded = _half_width(text)
    phones = list(_PHONE.finditer(folded))
    emails = list(_EMAIL.finditer(folded))
    if not phones and not emails:
        return text
    chars = list(text)
    for match in phones:                      # digits to stars: the length stays
        digits = [i for i in range(match.start(), match.end()) if folded[i].isdigit()]
        for i in digits[2:-2]:
            chars[i] = "*"
    for match in reversed(emails):            # right to left: earlier spans stay valid
        at = match.start() + match.group(0).index("@")
        domain = "".join(chars[at + 1:match.end()])
        chars[match.start():match.end()] = [f"{chars[match.start()]}***@{domain}"]
    return "".join(chars)


def _half_width(text: str) -> str:
    if any("\uff01" <= c <= "\uff5e" for c in text):
        return text.translate(_HALF_WIDTH)
    return text


_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)}
