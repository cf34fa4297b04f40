"""Logging that never leaks: phone numbers and e-mail addresses are masked in every line,
and registered secrets (channel tokens) are replaced wherever they would appear."""

from __future__ import annotations

import logging

from bot.details import mask_pii

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never print this value in a log line (tokens, channel secrets)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in _SECRETS:
            message = message.replace(secret, "[secret]")
        record.msg = mask_pii(message)
        record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) and getattr(h, "_heard", False)
               for h in root.handlers):
        handler = logging.StreamHandler()
        handler._heard = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # httpx (python-telegram-bot's client) logs every request URL, and Telegram URLs carry
    # the bot token: keep it to warnings (the redacting filter masks the token regardless).
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
