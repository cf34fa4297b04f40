"""Measuring understanding on labelled messages (`heard eval`), and on the dialog's own
examples held out from training.

A labelled file is tab-separated, one message a line, an optional header:
- complaints: `text  categories  escalate  [locale]  [domain]`; categories are the
  acceptable ones, comma-separated (`none`: no complaint); escalate is y or n;
- dialog acts: `text  stage  act  [locale]` (a header naming `act` says which).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.classify import classification
from bot.normalize import canonical
from bot.understanding.decide import act_of, category_of, situation_of
from bot.understanding.training import held_out, train, training_sets, without
from dialogs.model import Dialog

YES = ("y", "yes", "1", "true")


class LabelError(ValueError):
    """A labelled file that cannot be read: the line and the reason."""


@dataclass
class Row:
    text: str
    labels: tuple[str, ...]
    escalate: bool | None
    locale: str
    line: int


@dataclass
class Miss:
    line: int
    text: str
    expected: str
    got: str


@dataclass
class Figures:
    kind: str                                   # complaints | acts
    counts: Counter[str] = field(default_factory=Counter)
    by_locale: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[Miss] = field(default_factory=list)

    def add(self, locale: str, name: str, good: bool) -> None:
        for bucket in (self.counts, self.by_locale[locale]):
            bucket[name + "_n"] += 1
            bucket[name + "_ok"] += int(good)

    def rate(self, name: str, locale: str | None = None) -> float | None:
        bucket = self.counts if locale is None else self.by_locale.get(locale, Counter())
        n = bucket[name + "_n"]
        return bucket[name + "_ok"] / n if n else None

    def as_dict(self) -> dict[str, Any]:
        names = sorted({k[:-2] for k in self.counts if k.endswith("_n")})
        out: dict[str, Any] = {"kind": self.kind}
        for name in names:
            out[name] = _round(self.rate(name))
            out[name + "_n"] = self.counts[name + "_n"]
        out["by_locale"] = {loc: {name: _round(self.rate(name, loc)) for name in names
                                  if self.by_locale[loc][name + "_n"]}
                            for loc in sorted(self.by_locale)}
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def read_rows(lines: Iterable[str]) -> tuple[str, list[Row]]:
    rows: list[Row] = []
    kind = "complaints"
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if number == 1 and cells[0].strip().lower() == "text":
            kind = "acts" if "act" in [c.strip().lower() for c in cells] else "complaints"
            continue
        if len(cells) < 3:
            raise LabelError(f"line {number}: needs at least 3 tab-separated fields")
        locale = cells[3].strip() if len(cells) > 3 and cells[3].strip() else "-"
        if kind == "acts":
            rows.append(Row(cells[0], (cells[2].strip(),), None, locale, number))
            continue
        escalate = cells[2].strip().lower()
        if escalate not in (*YES, "n", "no", "0", "false"):
            raise LabelError(f"line {number}: escalate must be y or n, not {cells[2]!r}")
        labels = tuple(c.strip() for c in cells[1].split(",") if c.strip())
        rows.append(Row(cells[0], labels, escalate in YES, locale, number))
    return kind, rows


def evaluate(kind: str, rows: list[Row], dialog: Dialog) -> Figures:
    figures = Figures(kind)
    for row in rows:
        result = classification(row.text, dialog)
        if kind == "acts":
            good = result["act"] == row.labels[0]
            figures.add(row.locale, "act_accuracy", good)
            if not good:
                figures.misses.append(Miss(row.line, row.text, row.labels[0], result["act"]))
            continue
        _score_complaint(figures, row, result["category"], bool(result["escalate"]),
                         result["signals"])
    return figures


def _score_complaint(figures: Figures, row: Row, category: str | None, escalated: bool,
                     signals: list[dict[str, Any]]) -> None:
    complaint = "none" not in row.labels
    if complaint:
        good = category in row.labels
        figures.add(row.locale, "category_accuracy", good)
        if not good:
            figures.misses.append(Miss(row.line, row.text, "category " + ",".join(row.labels),
                                       f"category {category}"))
    if row.escalate:
        figures.add(row.locale, "escalation_recall", escalated)
    else:
        name = "false_escalation" if complaint else "false_escalation_non_complaints"
        figures.add(row.locale, name, escalated)
    if escalated != row.escalate:
        fired = ",".join(f"{s['name']}({'/'.join(s['words'][:3])})" for s in signals) or "-"
        figures.misses.append(Miss(row.line, row.text, f"escalate {'y' if row.escalate else 'n'}",
                                   f"escalate {'y' if escalated else 'n'} {fired}"))


def holdout(dialog: Dialog, folds: int = 5, fold: int = 0) -> Figures:
    """Train without one fold of the dialog's own examples, then score that fold: how well
    the model does on phrasing it never saw."""
    sets = training_sets(dialog)
    model = train(without(sets, folds, fold))
    figures = Figures("holdout")
    for head, data in sets.items():
        for example, label in data:
            if not held_out(example.text, folds, fold):
                continue
            canon = canonical(example.text)
            scores = model.score(canon)
            if head == "category":
                got = category_of(canon, scores, model, dialog).category or "none"
                figures.add(example.locale, "category_accuracy", got == label)
            elif head.startswith("situation:"):
                got_situation = situation_of(head.removeprefix("situation:"), scores, model)
                figures.add(example.locale, "situation_accuracy", got_situation == label)
            elif head == "act":
                got = act_of(canon, scores, model, dialog).act
                figures.add(example.locale, "act_accuracy", got == label)
            elif head == "clause:venting":
                p = model.probabilities(scores, head)["venting"]
                figures.add(example.locale, "venting_accuracy", (p >= 0.5) == (label == "yes"))
            else:
                name = head.removeprefix("signal:")
                p = model.probabilities(scores, head)[name]
                fired = p >= dialog.signals[name].min_confidence
                figures.add(example.locale, f"{name}_{'recall' if label == 'yes' else 'false'}",
                            fired)
    return figures


def report(figures: Figures, misses: int = 20) -> Iterator[str]:
    data = figures.as_dict()
    for name, value in data.items():
        if name in ("kind", "by_locale") or name.endswith("_n"):
            continue
        shown = "-" if value is None else f"{value:.3f}"
        yield f"{name:34} {shown}  (n={data[name + '_n']})"
    for locale, values in data["by_locale"].items():
        yield f"  {locale:8} " + "  ".join(f"{k}={v:.3f}" for k, v in values.items()
                                             if v is not None)
    if misses and figures.misses:
        yield f"misses ({len(figures.misses)}, first {min(misses, len(figures.misses))}):"
        for miss in figures.misses[:misses]:
            yield f"  line {miss.line}: expected {miss.expected}, got {miss.got} | {miss.text}"
