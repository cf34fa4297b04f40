"""The `labels:` section of a dialog file: the labels an admin offers agents for cases
(an id, a name per locale, an optional colour). Agents may also type labels of their own
(`bot.labels`); these are the shared, named ones the queue filter and reports list first.

    labels:
      refund: {name: {zh-TW: 退款, zh-CN: 退款, en: Refund}, colour: '#c0392b'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dialogs.model import LOCALES, Localized

LABEL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
NAME_LIMIT = 20      # characters, also the limit of a free label (bot.labels)
MAX_LABELS = 50


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    name: Localized
    colour: str | None = None


class _Reader(Protocol):
    def bad(self, path: str, reason: str) -> None: ...
    def mapping(self, value: Any, path: str) -> dict[str, Any] | None: ...
    def keys(self, value: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None: ...
    def localized(self, value: Any, path: str, limit: int | None = None,
                  placeholders: frozenset[str] | None = None) -> Localized: ...


def read_labels(reader: _Reader, value: Any, path: str = "labels") -> dict[str, Label]:
    """The labels section (optional); every problem is reported through `reader`."""
    if value is None:
        return {}
    found = reader.mapping(value, path)
    if found is None:
        return {}
    if len(found) > MAX_LABELS:
        reader.bad(path, f"{len(found)} labels; at most {MAX_LABELS} fit in the console's list")
    labels: dict[str, Label] = {}
    for key, raw in found.items():
        where = f"{path}.{key}"
        if not isinstance(key, str) or not LABEL_ID.match(key):
            reader.bad(where, "a label id is 1-30 lowercase letters, digits, _ or -, "
                              "e.g. refund or late-delivery")
            continue
        labels[key] = _label(reader, key, raw, where)
    _unique_names(reader, labels, path)
    return labels


def _label(reader: _Reader, key: str, raw: Any, where: str) -> Label:
    item = reader.mapping(raw, where) or {}
    reader.keys(item, where, ("name", "colour"))
    name = reader.localized(item.get("name"), f"{where}.name", limit=NAME_LIMIT)
    colour = item.get("colour")
    if colour is not None and (not isinstance(colour, str) or not COLOUR.match(colour)):
        reader.bad(f"{where}.colour", f"must be a colour like '#c0392b' (not {colour!r}); "
                                      "quote it, YAML reads # as a comment")
        colour = None
    return Label(key, name, colour)


def _unique_names(reader: _Reader, labels: Mapping[str, Label], path: str) -> None:
    """Two labels with one name in a locale could not be told apart on screen."""
    for locale in LOCALES:
        seen: dict[str, str] = {}
        for label in labels.values():
            name = label.name.values.get(locale, "").strip().casefold()
            if name and name in seen:
                reader.bad(f"{path}.{label.id}.name.{locale}",
                           f"the same name as label {seen[name]}")
            elif name:
                seen[name] = label.id
