"""Personal data stays out of logs (issue 13, item 11): common phone and e-mail shapes are
masked, also right next to Chinese characters, and ONE filter on the root handlers masks
every library's log lines, not just ours."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.details import mask_pii
from bot.logs import REDACTING, configure_logging, register_secret

# (as a customer writes it, a part that must not survive masking)
SHAPES = [
    ("0912345678", "0912345678"), ("0912-345-678", "345"), ("0912 345 678", "345"),
    ("0912-345678", "345678"), ("0912.345.678", "345"), ("+886912345678", "912345"),
    ("+886 912 345 678", "345"), ("+886-912-345-678", "345"), ("(+886) 912-345-678", "345"),
    ("886-912-345-678", "345"), ("(02)2345-6789", "2345"), ("02-2345-6789", "2345"),
    ("02 2345 6789", "2345"), ("0223456789", "0223456789"), ("07-123-4567", "123"),
    ("(04)2234-5678", "2234"), ("+886 2 2345 6789", "2345"), ("+886-2-2345-6789", "2345"),
    ("13812345678", "13812345678"), ("138-1234-5678", "1234"), ("138 1234 5678", "1234"),
    ("+86 138 1234 5678", "1234"), ("+8613812345678", "381234"), ("+1 415 555 2671", "555"),
    ("+1 (415) 555-2671", "555"), ("+1-415-555-2671", "555"), ("+44 20 7946 0958", "7946"),
    ("+44 7911 123456", "123456"), ("+44 (0)20 7946 0958", "7946"),
    ("我的電話0912345678", "0912345678"), ("手机13812345678谢谢", "13812345678"),
    ("電話：(02)2345-6789。", "2345"), ("打０９１２３４５６７８給我", "345678"),
    ("john.smith@example.com", "john.smith"), ("john+shop@example.com", "john+shop"),
    ("a.b.c@mail.example.co.uk", "a.b.c"), ("我的信箱amy_lee@sub.shop.com.tw謝謝", "amy_lee"),
    ("JOHN.DOE@EXAMPLE.COM", "JOHN.DOE"), ("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "ohn"),
]
# what must stay as it is: order numbers, amounts, dates, times, case numbers
KEPT = ["訂單 A12345678 共 1280 元", "order 20261124001", "2026-11-24 18:00", "NT$12,800",
        "案件 2026CS000123", "11/24 下午3點", "退款 3000 元，等了 3 天"]


@pytest.mark.parametrize(("text", "secret"), SHAPES)
def test_every_common_shape_is_masked(text: str, secret: str) -> None:
    assert secret not in mask_pii(text)


@pytest.mark.parametrize("text", KEPT)
def test_order_numbers_amounts_and_dates_are_kept(text: str) -> None:
    assert mask_pii(text) == text


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """A handler on the root logger as an operator would add one, then Heard's setup."""
    root = logging.getLogger()
    saved_level, saved = root.level, list(root.handlers)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root.addHandler(handler)
    configure_logging("DEBUG")
    try:
        yield out
    finally:
        for added in [h for h in root.handlers if h not in saved]:
            root.removeHandler(added)
        root.setLevel(saved_level)


@pytest.mark.parametrize("name", ["telegram.ext.ExtBot", "httpx", "aiohttp.access",
                                  "discord.gateway", "bot.server"])
def test_every_library_logger_is_masked(root_output: io.StringIO, name: str) -> None:
    logging.getLogger(name).warning("sent to %s and %s", "我的電話0912345678",
                                    "amy.lee@example.com")
    line = root_output.getvalue()
    assert name in line and "0912345678" not in line and "amy.lee" not in line
    assert "09******78" in line and "a***@example.com" in line


def test_every_root_handler_gets_the_one_filter(root_output: io.StringIO) -> None:
    handlers = logging.getLogger().handlers
    assert handlers and all(REDACTING in h.filters for h in handlers)


def test_tracebacks_and_secrets_are_masked_and_long_lines_cut(root_output: io.StringIO) -> None:
    register_secret("a-registered-token-4711")
    log = logging.getLogger("telegram.ext")
    try:
        raise ValueError("customer 0912-345-678 with a-registered-token-4711")
    except ValueError:
        log.exception("failed for %s", "+886 912 345 678")
    log.info("x" * 50_000)
    out = root_output.getvalue()
    assert "345-678" not in out and "912 345" not in out and "a-registered-token" not in out
    assert "ValueError" in out and "[secret]" in out
    assert "more characters]" in out and len(out) < 20_000
