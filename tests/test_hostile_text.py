"""One hostile message must not stall everyone (issue 13, item 5).

Benchmark-style: every shape that made a pattern quadratic (or, for the dialog's
order-number pattern, cubic) is read at 100,000 characters, through the extractors, the
masking and the public entry points. The figures are printed (`pytest -s`); the bound
asserted is generous (1 s) so a loaded CI machine cannot flake it, while the old patterns
took seconds on 5,000 characters and would take minutes here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.classify import classification
from bot.details import extract_details, mask_pii
from bot.normalize import canonical
from bot.understanding import ready, understand
from dialogs.model import Dialog

SIZE = 100_000
BOUND = 1.0   # seconds; measured figures are a few milliseconds to a few tens

SHAPES: dict[str, str] = {
    "digits": "1" * SIZE,
    "digits and commas": "1," * (SIZE // 2),
    "digits and dots": "1." * (SIZE // 2),
    "long numbers, no unit": ("1" * 50 + ".") * (SIZE // 51),
    "money sign and digits": "$" + "1," * (SIZE // 2) + "x",
    "Chinese numerals": "一" * SIZE,
    "Chinese numerals and days": "一" * (SIZE - 1) + "x",
    "slashes": "1/" * (SIZE // 2),
    "phone-like runs": "0912" * (SIZE // 4),
    "plus signs and digits": "+1 " * (SIZE // 3),
    "e-mail-like dots": "a." * (SIZE // 2) + "@",
    "e-mail local part": "a" * SIZE + "@b",
    "at signs": "a@" * (SIZE // 2),
    "domain labels": "a@" + "b." * (SIZE // 2),
    "order word and spaces": "order" + " " * SIZE + "!",
    "訂單 and tabs": "訂單" + " \t" * (SIZE // 2) + "?",
    "order word repeated": "order no " * (SIZE // 9),
    "order number dashes": "order " + "1-" * (SIZE // 2),
    "hash order": "#" + "a1" * (SIZE // 2),
    "spaces": " " * SIZE,
    "phone next to Chinese, repeated": "我的電話0912345678" * (SIZE // 14),
}


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_hostile_message_is_read_in_milliseconds(shape: str, dialog: Dialog) -> None:
    ready(dialog)      # the model loaded (or trained) first, as `heard serve` does: not timed
    text = SHAPES[shape]
    canon = canonical(text)
    figures = {
        "details": _timed(lambda: extract_details(text, canon, dialog.order_number_pattern, ())),
        "mask": _timed(lambda: mask_pii(text)),
        "understand": _timed(lambda: understand(text, dialog)),
        "classify": _timed(lambda: classification(text, dialog)),
    }
    print(f"{shape:34} " + "  ".join(f"{k} {v * 1000:7.1f} ms" for k, v in figures.items()))
    slow = {k: round(v, 3) for k, v in figures.items() if v > BOUND}
    assert not slow, f"{shape}: {slow}"


def test_the_bounded_patterns_still_find_what_customers_write(dialog: Dialog) -> None:
    text = ("訂單 A12345678 花了 NT$1,280.50，另一筆 300元、三百元，等了 3 天、2 weeks，"
            "2026/11/24 下單，電話0912-345-678，信箱 amy.lee+shop@mail.example.com.tw")
    found = extract_details(text, canonical(text), dialog.order_number_pattern, ())
    assert found.order_numbers == ("A12345678",)
    assert {"nt$1,280.50", "300元", "三百元"} <= set(found.amounts)
    assert {"3 天", "2 weeks", "2026/11/24"} <= set(found.dates)
    assert found.phones == ("0912-345-678",)
    assert found.emails == ("amy.lee+shop@mail.example.com.tw",)


def test_a_number_too_long_to_be_money_is_not_read_as_an_amount(dialog: Dialog) -> None:
    text = "1" * 40 + "元"
    found = extract_details(text, canonical(text), dialog.order_number_pattern, ())
    assert found.amounts == ()
