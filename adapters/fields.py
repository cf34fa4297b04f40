"""Reading a platform's JSON field by field (LINE webhooks, Telegram updates): each field
Heard uses is type-checked, and a wrong one raises ValueError naming it, so that the event
holding it is refused on its own."""

from __future__ import annotations

from typing import Any


def as_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object")
    return value


def optional_string(holder: dict[str, Any], key: str) -> str | None:
    value = holder.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def string(holder: dict[str, Any], key: str) -> str:
    value = optional_string(holder, key)
    if value is None:
        raise ValueError(f"no {key}")
    return value
