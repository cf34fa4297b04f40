"""The dialog's `console:` section: what the agent console calls severities, stages,
signals and outcomes in each locale, which language the console speaks, and how the
team's time zone is named. Every part is optional; a name left out shows as its key."""

from __future__ import annotations

from typing import Any, Protocol

from bot.case import STAGES
from dialogs.model import LOCALES, SEVERITIES, SIGNAL_NAMES, ConsoleWords, Dialog, Localized

OUTCOMES: tuple[str, ...] = ("resolved", "partly", "not_solved")
OWNERS: tuple[str, ...] = ("bot", "team")
NAMED: dict[str, tuple[str, ...]] = {
    "severities": SEVERITIES, "stages": STAGES, "signals": SIGNAL_NAMES,
    "outcomes": OUTCOMES, "owners": OWNERS,
}
KEYS = ("locale", "zone", *NAMED)


class Reader(Protocol):
    """The loader's reader: it collects problems instead of stopping at the first."""

    def bad(self, path: str, reason: str) -> None: ...
    def mapping(self, value: Any, path: str) -> dict[str, Any] | None: ...
    def keys(self, value: Any, path: str, allowed: tuple[str, ...]) -> None: ...
    def localized(self, value: Any, path: str, limit: int | None = None,
                  placeholders: frozenset[str] | None = None) -> Localized: ...


def read_console(reader: Reader, value: Any, path: str = "console") -> ConsoleWords:
    if value is None:
        return ConsoleWords()
    found = reader.mapping(value, path)
    if found is None:
        return ConsoleWords()
    reader.keys(found, path, KEYS)
    locale = found.get("locale")
    if locale is not None and locale not in LOCALES:
        reader.bad(f"{path}.locale", f"must be one of {', '.join(LOCALES)}")
        locale = None
    zone = reader.localized(found["zone"], f"{path}.zone", limit=20) if "zone" in found else None
    names: dict[str, dict[str, Localized]] = {}
    for part, allowed in NAMED.items():
        section = found.get(part)
        if section is None:
            continue
        table = reader.mapping(section, f"{path}.{part}")
        if table is None:
            continue
        reader.keys(table, f"{path}.{part}", allowed)
        names[part] = {key: reader.localized(text, f"{path}.{part}.{key}", limit=30)
                       for key, text in table.items() if key in allowed}
    return ConsoleWords(locale=locale, zone=zone, names=names)


def console_names(dialog: Dialog) -> dict[str, Any]:
    """Everything the console shows by name, in the console's language: severities,
    stages, signals, outcomes, owners, categories and situations; and the time zone."""
    words = dialog.console
    locale = words.locale or dialog.default_locale
    out: dict[str, Any] = {
        part: {key: (words.names.get(part, {}).get(key) or Localized({locale: key}, locale)
                     ).get(locale) for key in allowed}
        for part, allowed in NAMED.items()}
    out["categories"] = {cid: c.name.get(locale) for cid, c in dialog.categories.items()}
    out["situations"] = {cid: {sid: s.name.get(locale) for sid, s in c.situations.items()}
                         for cid, c in dialog.categories.items()}
    out["locale"], out["timezone"] = locale, dialog.timezone
    out["zone"] = words.zone.get(locale) if words.zone else dialog.timezone
    return out
