"""Reading dialog files: YAML in, a checked `Dialog` out, or every problem found.

Each problem names the file, the path inside it and the reason, e.g.
``dialogs/default.yml:texts.ack.en: missing``. `DialogHolder` keeps the last good dialog
live when a new version is broken.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.normalize import canonical, to_simplified
from dialogs.console_words import read_console
from dialogs.labels import read_labels
from dialogs.model import (
    ACT_NAMES,
    BUTTON_KEYS,
    CATEGORY_IDS,
    INTENT_NAMES,
    LOCALES,
    OPTIONAL_TEXT_PREFIXES,
    OPTIONAL_TEXTS,
    REMEDY_PLACEHOLDERS,
    SEVERITIES,
    SIGNAL_NAMES,
    TEXT_KEYS,
    TEXT_SIGNALS,
    WEEKDAYS,
    ZH_ONLY_PLACEHOLDERS,
    Category,
    Dialog,
    Empathy,
    FollowupRules,
    Grade,
    Localized,
    Remedy,
    Restatement,
    Signal,
    Situation,
    Team,
    UnderstandingRules,
)
from dialogs.safe_yaml import UnsafeYaml, load_limited

LABEL_LIMIT = 20     # LINE quick-reply labels
TOP_KEYS = ("version", "name", "default_locale", "locales", "timezone", "risk_threshold",
            "order_number_pattern", "understanding", "products", "colours", "grades", "categories",
            "signals", "intents", "acts", "ordinary", "restatement", "texts", "buttons", "team", "followups",
            "labels", "console")
CANNED_PLACEHOLDERS = frozenset({"case_number", "customer_name", "summary", "commitment", "due",
                                 "agent", "team"})
SIGNAL_PARAMS = {
    "exclamation": ("min_run", "caps_words"),
    "repeated": ("window_days", "similarity"),
    "progress_chasing": ("count",),
    "tone": ("threshold", "locales"),
}
EXAMPLE_LIMIT = 500   # characters in one example message
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.path}: {self.reason}" if self.path else f"{self.file}: {self.reason}"


class DialogError(Exception):
    """A dialog file that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _StrictBoolLoader(yaml.SafeLoader):
    """YAML where only true/false are booleans: `yes:` and `no:` stay words (intents,
    buttons), as admins mean them."""


_StrictBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_yaml(text: str) -> Any:
    """Parse a dialog file. A copy saved by another YAML tool may carry `true:`/`false:`
    where `yes:`/`no:` was meant; those keys and list items are read back as words.
    Size, aliases and depth are limited (`dialogs.safe_yaml`): raises `UnsafeYaml`."""
    return _words_back(load_limited(text, _StrictBoolLoader))


def _words_back(value: Any) -> Any:
    if isinstance(value, dict):
        return {_bool_word(k): _words_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bool_word(v) if isinstance(v, bool) else _words_back(v) for v in value]
    return value


def _bool_word(key: Any) -> Any:
    if key is True:
        return "yes"
    if key is False:
        return "no"
    return key


def default_dialog_path() -> Path:
    return Path(__file__).resolve().parent / "default.yml"


def load_dialog(path: str | Path) -> Dialog:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DialogError([Problem(str(path), "", f"cannot read: {exc.strerror or exc}")]) from exc
    return parse_dialog(raw, str(path))


def validate(path: str | Path) -> list[Problem]:
    try:
        load_dialog(path)
    except DialogError as exc:
        return exc.problems
    return []


def parse_dialog(raw: bytes | str, file: str = "<dialog>") -> Dialog:
    data_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DialogError([Problem(file, "", f"not UTF-8 text ({exc.reason})")]) from exc
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        reason = getattr(exc, "problem", None) or str(exc)
        raise DialogError([Problem(file, "", f"invalid YAML at {where}: {reason}")]) from exc
    except UnsafeYaml as exc:
        raise DialogError([Problem(file, "", f"refused: {exc}")]) from exc
    reader = _Reader(file, hashlib.sha256(data_bytes).hexdigest())
    dialog = reader.dialog(data)
    if reader.problems or dialog is None:
        raise DialogError(reader.problems)
    return dialog


class _Reader:
    """Walks the YAML, collecting every problem instead of stopping at the first."""

    def __init__(self, file: str, digest: str) -> None:
        self.file, self.digest = file, digest
        self.problems: list[Problem] = []
        self.default_locale = "zh-TW"
        self.locales: tuple[str, ...] = LOCALES

    def bad(self, path: str, reason: str) -> None:
        self.problems.append(Problem(self.file, path, reason))

    # ------------------------------------------------------------ small readers

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(path, "missing" if value is None else "must be a mapping")
            return None
        return value

    def keys(self, value: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                self.bad(f"{path}.{key}" if path else str(key),
                         f"unknown key (expected one of {', '.join(allowed)})")

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.bad(path, "missing" if value is None else "must be non-empty text")
            return ""
        return value

    def number(self, value: Any, path: str, low: float = 0.0, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(path, "missing" if value is None else "must be a number")
            return 0.0
        if value < low or (high is not None and value > high):
            self.bad(path, f"must be between {low} and {high}" if high is not None
                     else f"must be at least {low}")
        return float(value)

    def duration(self, value: Any, path: str) -> timedelta:
        match = _DURATION.match(str(value)) if value is not None else None
        if not match:
            self.bad(path, "missing" if value is None
                     else f"not a duration: {value!r} (use e.g. 30m, 4h, 3d)")
            return timedelta(hours=1)
        span = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if span <= timedelta(0):
            self.bad(path, "must be longer than zero")
        return span

    def localized(self, value: Any, path: str, limit: int | None = None,
                  placeholders: frozenset[str] | None = None) -> Localized:
        values: dict[str, str] = {}
        found = self.mapping(value, path)
        if found is None:
            return Localized({loc: "" for loc in LOCALES}, self.default_locale)
        self.keys(found, path, LOCALES)
        for locale in LOCALES:
            where = f"{path}.{locale}"
            text = self.string(found.get(locale), where)
            if text and limit is not None and len(text) > limit:
                self.bad(where, f"{len(text)} characters; at most {limit} fit")
            if text and placeholders is not None:
                self.placeholders(text, where, placeholders)
            values[locale] = text
        return Localized(values, self.default_locale)

    def placeholders(self, text: str, path: str, allowed: frozenset[str]) -> None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            self.bad(path, f"broken placeholder: {exc} (write {{{{ and }}}} for braces)")
            return
        for name in sorted(names):
            if name not in allowed:
                hint = ", ".join("{" + a + "}" for a in sorted(allowed)) or "none"
                self.bad(path, f"unknown placeholder {{{name}}} (allowed here: {hint})")

    def words(self, value: Any, path: str, required: bool = False) -> tuple[str, ...]:
        """A word list per locale, canonicalised and merged across locales."""
        if value is None and not required:
            return ()
        found = self.mapping(value, path)
        if found is None:
            return ()
        self.keys(found, path, LOCALES)
        out: list[str] = []
        for locale, items in found.items():
            if not isinstance(items, list):
                self.bad(f"{path}.{locale}", "must be a list of words")
                continue
            for i, item in enumerate(items):
                if not isinstance(item, str | int) or not str(item).strip():
                    self.bad(f"{path}.{locale}[{i}]", "must be a non-empty word")
                    continue
                out.append(canonical(str(item)).strip())
        if required and not out:
            self.bad(path, "needs at least one word")
        return tuple(dict.fromkeys(out))

    def examples(self, value: Any, path: str, required: bool = True) -> dict[str, tuple[str, ...]]:
        """Example messages per locale, as written; every declared locale needs some."""
        if value is None and not required:
            return {}
        found = self.mapping(value, path)
        if found is None:
            return {}
        self.keys(found, path, LOCALES)
        out: dict[str, tuple[str, ...]] = {}
        for locale, items in found.items():
            if not isinstance(items, list):
                self.bad(f"{path}.{locale}", "must be a list of example messages")
                continue
            kept = []
            for i, item in enumerate(items):
                if not isinstance(item, str | int) or not str(item).strip():
                    self.bad(f"{path}.{locale}[{i}]", "must be a non-empty message")
                elif len(str(item)) > EXAMPLE_LIMIT:
                    self.bad(f"{path}.{locale}[{i}]", f"longer than {EXAMPLE_LIMIT} characters")
                else:
                    kept.append(str(item).strip())
            out[locale] = tuple(dict.fromkeys(kept))
        if required:
            for locale in self.locales:
                if not out.get(locale):
                    self.bad(f"{path}.{locale}", "needs example messages in every locale the "
                             "dialog declares")
        return out

    def pairs(self, value: Any, path: str) -> dict[str, tuple[tuple[str, str], ...]]:
        if value is None:
            return {}
        found = self.mapping(value, path)
        if found is None:
            return {}
        self.keys(found, path, LOCALES)
        out: dict[str, tuple[tuple[str, str], ...]] = {}
        for locale, items in found.items():
            pairs = []
            for i, item in enumerate(items if isinstance(items, list) else [None]):
                ok = (isinstance(item, list) and len(item) == 2
                      and all(isinstance(x, str) for x in item) and item[0])
                if not ok:
                    self.bad(f"{path}.{locale}[{i}]", "must be a pair [from, to]")
                    continue
                pairs.append((item[0], item[1]))
            out[locale] = tuple(pairs)
        if "zh-TW" in out and "zh-CN" not in out:
            out["zh-CN"] = tuple((to_simplified(a), to_simplified(b)) for a, b in out["zh-TW"])
        return out

    # ------------------------------------------------------------ the parts

    def dialog(self, data: Any) -> Dialog | None:
        top = self.mapping(data, "")
        if top is None:
            self.problems[-1] = Problem(self.file, "", "a dialog file is a YAML mapping")
            return None
        self.keys(top, "", TOP_KEYS)
        if top.get("version") != 1:
            self.bad("version", "must be 1")
        locale = top.get("default_locale")
        if locale not in LOCALES:
            self.bad("default_locale", f"must be one of {', '.join(LOCALES)}")
        else:
            self.default_locale = locale
        self.locales = self.declared_locales(top.get("locales"))
        tz = self.string(top.get("timezone"), "timezone")
        if tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                self.bad("timezone", f"unknown time zone {tz!r} (use e.g. Asia/Taipei)")
        pattern = self.string(top.get("order_number_pattern"), "order_number_pattern")
        if pattern:
            try:
                if re.compile(pattern).groups < 1:
                    self.bad("order_number_pattern", "needs one group: the order number")
            except re.error as exc:
                self.bad("order_number_pattern", f"not a regular expression: {exc}")
        grades = self.each(top.get("grades"), "grades", SEVERITIES, self.grade)
        signals = self.each(top.get("signals"), "signals", SIGNAL_NAMES, self.signal)
        intents = self.each(top.get("intents"), "intents", INTENT_NAMES,
                            lambda v, p, _n: self.words(v, p, required=True))
        acts = self.each(top.get("acts"), "acts", ACT_NAMES, lambda v, p, _n: self.examples(v, p))
        categories = self.each(top.get("categories"), "categories", CATEGORY_IDS, self.category)
        rules = self.understanding(top.get("understanding"), "understanding")
        texts = self.each(top.get("texts"), "texts", self.text_names(top.get("texts")),
                          lambda v, p, n: self.localized(v, p, placeholders=_placeholders(n)))
        buttons = self.each(top.get("buttons"), "buttons", BUTTON_KEYS,
                            lambda v, p, _n: self.localized(v, p, limit=LABEL_LIMIT))
        restatement = self.restatement(top.get("restatement"), "restatement")
        team = self.team(top.get("team"), "team")
        followups = self.followups(top.get("followups"), "followups")
        products, measures = self.products(top.get("products"), "products")
        labels = read_labels(self, top.get("labels"))
        console = read_console(self, top.get("console"))
        if self.problems:
            return None
        return Dialog(
            path=self.file, digest=self.digest, name=str(top.get("name") or self.file),
            default_locale=self.default_locale, timezone=tz,
            risk_threshold=self.number(top.get("risk_threshold"), "risk_threshold", 0.1),
            order_number_pattern=pattern, grades=grades, categories=categories,
            signals=signals, intents=intents, restatement=restatement, texts=texts,
            buttons=buttons, products=products, measure_words=measures,
            colours=self.words(top.get("colours"), "colours"), team=team,
            followups=followups, acts=acts, understanding=rules, locales=self.locales,
            ordinary=self.examples(top.get("ordinary"), "ordinary", required=False),
            labels=labels,
            console=console,
        )

    def products(self, value: Any, path: str
                 ) -> tuple[tuple[str, ...], dict[str, dict[str, str]]]:
        """Product words per locale: a plain list, or (Chinese) a mapping from measure word
        to products (`台: [加濕器, 除濕機]`). Returns the canonical words of all locales and,
        per locale, canonical product -> measure word."""
        if value is None:
            return (), {}
        found = self.mapping(value, path)
        if found is None:
            return (), {}
        self.keys(found, path, LOCALES)
        plain: dict[str, Any] = {}
        measures: dict[str, dict[str, str]] = {}
        for locale, items in found.items():
            if not isinstance(items, dict):
                plain[locale] = items
                continue
            where = f"{path}.{locale}"
            if not str(locale).startswith("zh"):
                self.bad(where, "measure words are for Chinese: write a plain list of products")
            words: list[Any] = []
            for measure, group in items.items():
                if not isinstance(measure, str) or not measure.strip() or len(measure) > 2:
                    self.bad(f"{where}.{measure}", "a measure word is one or two characters")
                    continue
                if not isinstance(group, list) or not group:
                    self.bad(f"{where}.{measure}", "must be a list of products")
                    continue
                words += group
                for item in group:
                    if isinstance(item, str | int) and str(item).strip():
                        measures.setdefault(locale, {}).setdefault(
                            canonical(str(item)).strip(), measure)
            plain[locale] = words
        return self.words(plain, path), measures

    def declared_locales(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return LOCALES
        if not isinstance(value, list) or not value or any(v not in LOCALES for v in value):
            self.bad("locales", f"must be a list of locales from {', '.join(LOCALES)}")
            return LOCALES
        if self.default_locale not in value:
            self.bad("locales", f"must include the default locale {self.default_locale}")
        return tuple(dict.fromkeys(value))

    def understanding(self, value: Any, path: str) -> UnderstandingRules:
        if value is None:
            return UnderstandingRules()
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("fallback_category", "confidence", "act_confidence"))
        defaults = UnderstandingRules()
        fallback = found.get("fallback_category", defaults.fallback_category)
        if fallback not in CATEGORY_IDS:
            self.bad(f"{path}.fallback_category", f"must be one of {', '.join(CATEGORY_IDS)}")
            fallback = defaults.fallback_category
        return UnderstandingRules(
            fallback_category=fallback,
            confidence=self.number(found.get("confidence", defaults.confidence),
                                   f"{path}.confidence", 0.0, 1.0),
            act_confidence=self.number(found.get("act_confidence", defaults.act_confidence),
                                       f"{path}.act_confidence", 0.0, 1.0),
        )

    def text_names(self, value: Any) -> tuple[str, ...]:
        """Every required text, plus the optional texts the file declares."""
        extra = [k for k in value if isinstance(k, str) and k not in TEXT_KEYS
                 and (k in OPTIONAL_TEXTS or k.startswith(tuple(OPTIONAL_TEXT_PREFIXES)))
                 ] if isinstance(value, dict) else []
        return (*TEXT_KEYS, *extra)

    def each(self, value: Any, path: str, names: tuple[str, ...],
             read: Callable[[Any, str, str], Any]) -> dict[str, Any]:
        found = self.mapping(value, path)
        if found is None:
            return {}
        self.keys(found, path, names)
        out = {}
        for name in names:
            if name not in found:
                self.bad(f"{path}.{name}", "missing")
                continue
            out[name] = read(found[name], f"{path}.{name}", name)
        return out

    def grade(self, value: Any, path: str, name: str) -> Grade:
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("first_response", "followup_after", "followup_every",
                                "followup_sample"))
        every = found.get("followup_every")
        return Grade(
            name=name,
            first_response=self.duration(found.get("first_response"), f"{path}.first_response"),
            followup_after=self.duration(found.get("followup_after"), f"{path}.followup_after"),
            followup_every=self.duration(every, f"{path}.followup_every") if every else None,
            followup_sample=self.number(found.get("followup_sample", 1.0),
                                        f"{path}.followup_sample", 0.0, 1.0),
        )

    def signal(self, value: Any, path: str, name: str) -> Signal:
        found = self.mapping(value, path) or {}
        params = SIGNAL_PARAMS.get(name, ())
        text_signal = name in TEXT_SIGNALS
        extra = ("phrases", "examples", "min_confidence") if text_signal else ()
        self.keys(found, path, ("weight", "severity", *extra, *params))
        severity = found.get("severity")
        if severity is not None and severity not in SEVERITIES:
            self.bad(f"{path}.severity", f"must be one of {', '.join(SEVERITIES)}")
            severity = None
        phrases = self.words(found.get("phrases"), f"{path}.phrases")
        for param in params:
            if param in found and param != "locales":
                self.number(found[param], f"{path}.{param}", -1.0)
        return Signal(
            name=name, weight=self.number(found.get("weight"), f"{path}.weight", 0.0, 10.0),
            severity=severity, phrases=phrases,
            params={p: found[p] for p in params if p in found},
            examples=self.examples(found.get("examples"), f"{path}.examples") if text_signal
            else {},
            min_confidence=self.number(found.get("min_confidence", 0.5),
                                       f"{path}.min_confidence", 0.0, 1.0),
        )

    def category(self, value: Any, path: str, name: str) -> Category:
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("name", "severity", "wants_order_number", "keywords", "examples",
                                "feeling", "empathy", "remedies", "situations"))
        severity = found.get("severity")
        if severity not in SEVERITIES:
            self.bad(f"{path}.severity", f"must be one of {', '.join(SEVERITIES)}")
            severity = "standard"
        empathy = []
        lines = found.get("empathy")
        if not isinstance(lines, list) or not lines:
            self.bad(f"{path}.empathy", "must be a list of lines (one without `when`)")
            lines = []
        for i, line in enumerate(lines):
            where = f"{path}.empathy[{i}]"
            item = self.mapping(line, where) or {}
            self.keys(item, where, ("when", "text"))
            empathy.append(Empathy(self.words(item.get("when"), f"{where}.when"),
                                   self.localized(item.get("text"), f"{where}.text",
                                                  placeholders=frozenset())))
        if lines and all(e.when for e in empathy):
            self.bad(f"{path}.empathy", "needs one default line without `when`")
        remedies = self.each(found.get("remedies"), f"{path}.remedies", SEVERITIES,
                             self.remedy_pair)
        wants = found.get("wants_order_number", True)
        if not isinstance(wants, bool):
            self.bad(f"{path}.wants_order_number", "must be true or false")
        return Category(
            id=name, name=self.localized(found.get("name"), f"{path}.name"), severity=severity,
            keywords=self.words(found.get("keywords"), f"{path}.keywords"),
            examples=self.examples(found.get("examples"), f"{path}.examples", required=False),
            feeling=self.localized(found.get("feeling"), f"{path}.feeling"),
            empathy=tuple(empathy), remedies=remedies, wants_order_number=bool(wants),
            situations=self.situations(found.get("situations"), f"{path}.situations"),
        )

    def situations(self, value: Any, path: str) -> dict[str, Situation]:
        found = self.mapping(value, path)
        if found is None:
            return {}
        if not found:
            self.bad(path, "needs at least one situation")
        out = {}
        for sid, raw in found.items():
            where = f"{path}.{sid}"
            if not isinstance(sid, str) or not re.fullmatch(r"[a-z0-9_]{1,40}", sid):
                self.bad(where, "situation ids use lower-case letters, digits and _")
                continue
            item = self.mapping(raw, where) or {}
            self.keys(item, where, ("name", "examples", "empathy", "feeling", "advice",
                                    "remedies"))
            out[sid] = Situation(
                id=sid, name=self.localized(item.get("name"), f"{where}.name"),
                examples=self.examples(item.get("examples"), f"{where}.examples"),
                empathy=self.localized(item["empathy"], f"{where}.empathy",
                                       placeholders=frozenset()) if "empathy" in item else None,
                feeling=self.localized(item["feeling"], f"{where}.feeling")
                if "feeling" in item else None,
                remedies=self.each(item["remedies"], f"{where}.remedies", SEVERITIES,
                                   self.remedy_pair) if "remedies" in item else None,
                advice=self.localized(item["advice"], f"{where}.advice",
                                      placeholders=frozenset()) if "advice" in item else None,
            )
        return out

    def remedy_pair(self, value: Any, path: str, _name: str) -> tuple[Remedy, Remedy]:
        if not isinstance(value, list) or len(value) != 2:
            self.bad(path, "exactly two remedies are offered: a list of two")
            value = [*value, {}, {}][:2] if isinstance(value, list) else [{}, {}]
        first, second = (self.remedy(v, f"{path}[{i}]") for i, v in enumerate(value))
        if first.id and first.id == second.id:
            self.bad(f"{path}[1].id", f"the two remedies need different ids ({first.id!r} twice)")
        return first, second

    def remedy(self, value: Any, path: str) -> Remedy:
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("id", "label", "offer", "commitment", "due", "compensation",
                                "words"))
        rid = self.string(found.get("id"), f"{path}.id")
        if rid and not re.fullmatch(r"[a-z0-9_-]{1,40}", rid):
            self.bad(f"{path}.id", "use lower-case letters, digits, - and _ (at most 40)")
        compensation = found.get("compensation", 0)
        if isinstance(compensation, bool) or not isinstance(compensation, int) or compensation < 0:
            self.bad(f"{path}.compensation", "must be a whole NT$ amount, 0 or more")
            compensation = 0
        texts = {key: self.localized(found.get(key), f"{path}.{key}",
                                     limit=LABEL_LIMIT if key == "label" else None,
                                     placeholders=REMEDY_PLACEHOLDERS)
                 for key in ("label", "offer", "commitment")}
        for key, text in texts.items():
            for name in sorted(ZH_ONLY_PLACEHOLDERS):
                if "{" + name + "}" in text.values.get("en", ""):
                    self.bad(f"{path}.{key}.en", f"placeholder {{{name}}} is for Chinese "
                             "texts only (English has no measure words)")
        return Remedy(
            id=rid, label=texts["label"], offer=texts["offer"], commitment=texts["commitment"],
            due=self.duration(found.get("due"), f"{path}.due"), compensation=compensation,
            words=self.words(found.get("words"), f"{path}.words"),
        )

    def team(self, value: Any, path: str) -> Team:
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("name", "hours", "holidays", "around_the_clock", "canned"))
        hours = self.mapping(found.get("hours"), f"{path}.hours") or {}
        self.keys(hours, f"{path}.hours", ("days", "open", "close"))
        days = set()
        for i, day in enumerate(hours.get("days") or []):
            if day not in WEEKDAYS:
                self.bad(f"{path}.hours.days[{i}]", f"must be one of {', '.join(WEEKDAYS)}")
            else:
                days.add(WEEKDAYS.index(day))
        opens = self.clock(hours.get("open"), f"{path}.hours.open")
        closes = self.clock(hours.get("close"), f"{path}.hours.close")
        if opens >= closes:
            self.bad(f"{path}.hours", "open must be before close")
        holidays = set()
        for i, day in enumerate(found.get("holidays") or []):
            try:
                holidays.add(day if isinstance(day, date) else date.fromisoformat(str(day)))
            except ValueError:
                self.bad(f"{path}.holidays[{i}]", f"not a date: {day!r} (use 2026-01-01)")
        always = found.get("around_the_clock") or []
        for i, grade in enumerate(always):
            if grade not in SEVERITIES:
                self.bad(f"{path}.around_the_clock[{i}]", f"must be one of {', '.join(SEVERITIES)}")
        canned_raw = found.get("canned") or {}
        canned = {}
        if not isinstance(canned_raw, dict):
            self.bad(f"{path}.canned", "must be a mapping of name: localized text")
        else:
            for name, text in canned_raw.items():
                canned[str(name)] = self.localized(text, f"{path}.canned.{name}",
                                                   placeholders=CANNED_PLACEHOLDERS)
        return Team(
            name=self.localized(found.get("name"), f"{path}.name"), days=frozenset(days),
            opens=opens, closes=closes, holidays=frozenset(holidays),
            around_the_clock=frozenset(str(g) for g in always), canned=canned,
        )

    def followups(self, value: Any, path: str) -> FollowupRules:
        if value is None:
            return FollowupRules()
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("quiet_hours", "max_contacts", "per_days", "retry_after",
                                "tries"))
        defaults = FollowupRules()
        quiet = found.get("quiet_hours")
        start, end = defaults.quiet_start, defaults.quiet_end
        if quiet is not None:
            hours = self.mapping(quiet, f"{path}.quiet_hours") or {}
            self.keys(hours, f"{path}.quiet_hours", ("start", "end"))
            start = self.clock(hours.get("start"), f"{path}.quiet_hours.start")
            end = self.clock(hours.get("end"), f"{path}.quiet_hours.end")
        return FollowupRules(
            quiet_start=start, quiet_end=end,
            max_contacts=int(self.number(found.get("max_contacts", defaults.max_contacts),
                                         f"{path}.max_contacts", 1, 50)),
            per_days=int(self.number(found.get("per_days", defaults.per_days),
                                     f"{path}.per_days", 1, 365)),
            retry_after=self.duration(found["retry_after"], f"{path}.retry_after")
            if "retry_after" in found else defaults.retry_after,
            tries=int(self.number(found.get("tries", defaults.tries), f"{path}.tries", 1, 10)),
        )

    def clock(self, value: Any, path: str) -> time:
        if isinstance(value, int) and not isinstance(value, bool):   # YAML 1.1 reads 09:00 as 540
            return time(value // 60, value % 60) if 0 <= value < 24 * 60 else time(0, 0)
        try:
            hour, minute = str(value).split(":")
            return time(int(hour), int(minute))
        except (ValueError, TypeError):
            self.bad(path, "missing" if value is None else f"not a time: {value!r} (use 09:00)")
            return time(0, 0)

    def restatement(self, value: Any, path: str) -> Restatement:
        found = self.mapping(value, path) or {}
        self.keys(found, path, ("max_chars", "pronouns", "rewrites", "fillers", "venting", "facts"))
        fillers: dict[str, tuple[str, ...]] = {}
        raw_fillers = found.get("fillers") or {}
        if isinstance(raw_fillers, dict):
            for locale, items in raw_fillers.items():
                if locale not in LOCALES or not isinstance(items, list):
                    self.bad(f"{path}.fillers.{locale}", "must be a locale with a list of words")
                    continue
                fillers[locale] = tuple(str(i) for i in items if str(i).strip())
        else:
            self.bad(f"{path}.fillers", "must be a mapping")
        return Restatement(
            max_chars=int(self.number(found.get("max_chars"), f"{path}.max_chars", 20, 1000)),
            pronouns=self.pairs(found.get("pronouns"), f"{path}.pronouns"),
            rewrites=self.pairs(found.get("rewrites"), f"{path}.rewrites"),
            fillers=fillers,
            venting=self.examples(found.get("venting"), f"{path}.venting", required=False),
            facts=self.examples(found.get("facts"), f"{path}.facts", required=False),
        )


def _placeholders(name: str) -> frozenset[str]:
    if name in OPTIONAL_TEXTS:
        return OPTIONAL_TEXTS[name]
    for prefix, general in OPTIONAL_TEXT_PREFIXES.items():
        if name.startswith(prefix) and name not in TEXT_KEYS:
            return TEXT_KEYS[general]
    return TEXT_KEYS[name]


class DialogHolder:
    """The live dialog. A reload that fails keeps the last good version live.

    `prepare` readies a new version before it goes live (the server trains the text model
    there, so the last good model keeps serving while a new one trains); if it fails, the
    new version is rejected like a broken file."""

    def __init__(self, path: str | Path, prepare: Callable[[Dialog], object] | None = None
                 ) -> None:
        self.path = Path(path)
        self.prepare = prepare
        self.dialog = self._prepared(load_dialog(self.path))
        self.last_error: DialogError | None = None
        self.loaded_at = datetime.now(UTC)
        self.error_at: datetime | None = None
        self._mtime = self._stamp()

    def _stamp(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def changed_on_disk(self) -> bool:
        return self._stamp() != self._mtime

    async def watch(self, reload: Callable[[], Awaitable[object]], every: float = 2.0) -> None:
        """Run `reload` whenever the file changed on disk, until cancelled. The watcher
        never dies: a reload that raises is logged and the next change is read again."""
        while True:
            await asyncio.sleep(every)
            try:
                if self.changed_on_disk():
                    await reload()
            except asyncio.CancelledError:
                raise
            except Exception:
                logging.getLogger(__name__).exception("dialog watcher: reading %s failed",
                                                      self.path)

    def reload(self) -> bool:
        """True when a new version went live; on failure `last_error` says why."""
        self._mtime = self._stamp()
        try:
            dialog = self._prepared(load_dialog(self.path))
        except DialogError as exc:
            self.last_error = exc
            self.error_at = datetime.now(UTC)
            return False
        except Exception as exc:   # whatever it is, it is reported and the last good one stays
            self.last_error = DialogError([Problem(str(self.path), "", f"could not be read: "
                                                   f"{type(exc).__name__}: {exc}")])
            self.error_at = datetime.now(UTC)
            return False
        self.last_error = None
        changed = dialog.digest != self.dialog.digest
        if changed:
            self.loaded_at = datetime.now(UTC)
        self.dialog = dialog
        return changed

    def _prepared(self, dialog: Dialog) -> Dialog:
        if self.prepare is not None:
            try:
                self.prepare(dialog)
            except Exception as exc:  # a model that cannot be trained must not go live
                raise DialogError([Problem(str(self.path), "",
                                           f"cannot prepare this version: {exc}")]) from exc
        return dialog
