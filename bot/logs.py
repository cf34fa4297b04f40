"""Logging that never leaks: phone numbers and e-mail addresses are masked in every line,
and registered secrets (channel tokens) are replaced wherever they would appear.

ONE filter does it, installed on every handler of the root logger, so lines from other
libraries' loggers (telegram, httpx, aiohttp.access, discord) are masked as well as ours:
they all propagate to the root handlers. Tracebacks are masked too, and a line longer than
`LINE_LIMIT` is cut (a 100,000-character message is not worth logging whole).
"""

from __future__ import annotations

import logging

from bot.details import mask_pii

_SECRETS: set[str] = set()
LINE_LIMIT = 10_000


def register_secret(value: str | None) -> None:
    """Never print this value in a log line (tokens, channel secrets)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Secrets replaced, personal data masked, long text cut."""
    if len(text) > LINE_LIMIT:
        text = f"{text[:LINE_LIMIT]}… [{len(text) - LINE_LIMIT} more characters]"
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "[secret]")
    return mask_pii(text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_heard_redacted", False):
            return True        # a second handler sees the record already masked
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "_heard_redacted", True)  # noqa: B010
        return True


REDACTING = RedactingFilter()


def install_redaction(root: logging.Logger | None = None) -> None:
    """Put the one redacting filter on every root handler (idempotent)."""
    for handler in (root or logging.getLogger()).handlers:
        if REDACTING not in handler.filters:
            handler.addFilter(REDACTING)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) and getattr(h, "_heard", False)
               for h in root.handlers):
        handler = logging.StreamHandler()
        handler._heard = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    install_redaction(root)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # httpx (python-telegram-bot's client) logs every request URL, and Telegram URLs carry
    # the bot token: keep it to warnings (the redacting filter masks the token regardless).
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
