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

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+?886[-\s]?|0)9\d{2}[-\s]?\d{3}[-\s]?\d{3}"      # Taiwan mobile
    r"|\+?86[-\s]?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}"          # mainland mobile, +86
    r"|1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}"                     # mainland mobile
    r"|\(?0\d{1,2}\)?[-\s]?\d{3,4}[-\s]?\d{4}"             # Taiwan landline
    r"|\+\d{1,3}[-\s]?\d{2,4}[-\s]?\d{3,4}[-\s]?\d{3,4}"   # anything international
    r")(?![\w])"
)
_AMOUNT = re.compile(
    r"(?:(?:nt\$|ntd|twd|rmb|us\$|\$|¥|￥|新台幣|台幣|臺幣|人民幣|人民币)\s?\d(?:[\d,]*\d)?(?:\.\d+)?"
    r"|\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:元|塊|块|dollars?|ntd|twd|rmb|yuan)"
    r"|[一二兩两三四五六七八九十百千萬万]+(?:元|塊|块))",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
    r"|\d{1,2}/\d{1,2}"
    r"|\d{1,2}月\d{1,2}[日號号]"
    r"|今天|昨天|前天|上週|上周|上禮拜|上个月|上個月|剛剛|刚刚|早上|晚上|下午|上午"
    r"|[\d一二兩两三四五六七八九十半]+\s?(?:天|個小時|个小时|小時|小时|週|周|個禮拜|个礼拜|禮拜|"
    r"星期|個月|个月|分鐘|分钟)"
    r"|\b(?:today|yesterday|last (?:week|month|night)|this morning)\b"
    r"|\b\d+\s?(?:days?|hours?|weeks?|months?|minutes?)\b)",
    re.IGNORECASE,
)
_GENERIC_ORDER = re.compile(r"#\s?([A-Za-z]{0,4}\d{5,20})\b")


@dataclass(frozen=True, slots=True)
class Details:
    order_numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def merged(self, other: Details) -> Details:
        return Details(**{
            f.name: _unique(getattr(self, f.name) + getattr(other, f.name)) for f in fields(self)
        })

    def as_dict(self) -> dict[str, list[str]]:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Details:
        data = data or {}
        return cls(**{f.name: tuple(data.get(f.name) or ()) for f in fields(cls)})


def _unique(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@lru_cache(maxsize=32)
def _order_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def extract_details(text: str, canonical_text: str, order_pattern: str,
                    products: tuple[str, ...]) -> Details:
    """Find the facts in one message. `text` is as typed; `canonical_text` is canonical()."""
    folded = fold(text)
    orders = [m.group(1).upper() for m in _order_pattern(order_pattern).finditer(folded)]
    orders += [m.group(1).upper() for m in _GENERIC_ORDER.finditer(folded)]
    phones = [m.group(0).strip() for m in _PHONE.finditer(folded)]
    emails = _EMAIL.findall(folded)
    return Details(
        order_numbers=_unique(orders),
        dates=_unique([m.group(0).strip() for m in _DATE.finditer(folded)]),
        amounts=_unique([m.group(0).strip() for m in _AMOUNT.finditer(folded)]),
        products=_unique([p for p in products if p in canonical_text]),
        phones=_unique(phones),
        emails=_unique(emails),
    )


def _mask_phone(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = sum(c.isdigit() for c in raw)
    seen, out = 0, []
    for c in raw:
        if c.isdigit():
            seen += 1
            out.append(c if seen <= 2 or seen > digits - 2 else "*")
        else:
            out.append(c)
    return "".join(out)


def _mask_email(match: re.Match[str]) -> str:
    local, _, domain = match.group(0).partition("@")
    return f"{local[:1]}***@{domain}"


def mask_pii(text: str) -> str:
    """Hide phone numbers and e-mail addresses: 0912-345-678 -> 09**-***-*78."""
    if not text:
        return text
    text = _EMAIL.sub(_mask_email, text)
    return _PHONE.sub(_mask_phone, _ascii_digits(text))


def _ascii_digits(text: str) -> str:
    """Full-width digits are folded so they cannot slip past the phone pattern."""
    if any("\uff10" <= c <= "\uff19" for c in text):
        return text.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    return text
