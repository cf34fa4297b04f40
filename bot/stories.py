"""Conversation stories: admins' executable examples of how the dialog must behave.

A story file (YAML) lists stories; each story is a customer's turns (`say`, `press`,
`after`) with what must follow (`expect`). Stories run against the real engine and a real
SQLite store on a virtual clock, so `after: 3d` runs three days of timers in no time.
The format is documented in docs/stories.md.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot import turns
from bot.agents import HAND_BACK_CHOICES
from bot.case import CaseState
from bot.types import Incoming, Outgoing, Profile
from dialogs.loader import read_yaml
from dialogs.model import Dialog
from storage.store import Store

TURN_KEYS = ("say", "press", "after", "restart", "agent")
# What a person can do in a story (`agent: claim`, `agent: {reply: 文字}`,
# `agent: {commit: 今天寄出, due: 2h}`, `agent: {hand_back: offer}`; a bare `hand_back`
# is `{hand_back: listen}`).
AGENT_ACTIONS = ("claim", "resolve", "hand_back", "fulfil", "reply", "note", "commit")
EXPECT_KEYS = (
    "stage", "outcome", "followups", "category", "severity", "locale", "escalated", "signals", "remedies",
    "reply_contains", "reply_not_contains", "followup_sent",
)
STORY_KEYS = ("name", "locale", "customer", "turns", "start")
TIMER_STEP = timedelta(minutes=15)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class StoryError(Exception):
    """A story file that cannot be read: file, path inside it, reason."""


@dataclass(frozen=True, slots=True)
class Story:
    name: str
    file: str
    index: int
    turns: tuple[dict[str, Any], ...]
    locale: str | None = None
    customer_name: str | None = None
    start: datetime | None = None


@dataclass(slots=True)
class Failure:
    story: str
    file: str
    turn: int
    action: str
    what: str

    def __str__(self) -> str:
        return f"FAIL {self.story} ({self.file}) turn {self.turn} [{self.action}]: {self.what}"


@dataclass(slots=True)
class Report:
    passed: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 25h, 3d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def story_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml")))
        elif path.is_file():
            files.append(path)
        else:
            raise StoryError(f"{path}: no such file or directory")
    return files


def load_stories(paths: Iterable[str | Path]) -> list[Story]:
    stories: list[Story] = []
    for file in story_files(paths):
        stories.extend(_read_file(file))
    return stories


def _read_file(file: Path) -> Iterator[Story]:
    try:
        data = read_yaml(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StoryError(f"{file}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("stories"), list):
        raise StoryError(f"{file}:stories: a list of stories is required")
    for i, raw in enumerate(data["stories"]):
        yield _read_story(file, i, raw)


def _read_story(file: Path, i: int, raw: Any) -> Story:
    where = f"{file}:stories[{i}]"
    if not isinstance(raw, dict) or not raw.get("name") or not isinstance(raw.get("turns"), list):
        raise StoryError(f"{where}: each story needs a name and a list of turns")
    for key in raw:
        if key not in STORY_KEYS:
            raise StoryError(f"{where}.{key}: unknown key (expected one of {', '.join(STORY_KEYS)})")
    for t, turn in enumerate(raw["turns"]):
        _check_turn(f"{where}.turns[{t}]", turn)
    customer = raw.get("customer") or {}
    start = raw.get("start")
    return Story(
        name=str(raw["name"]), file=str(file), index=i, turns=tuple(raw["turns"]),
        locale=raw.get("locale"), customer_name=customer.get("name"),
        start=datetime.fromisoformat(str(start)) if start else None,
    )


def _check_turn(where: str, turn: Any) -> None:
    if not isinstance(turn, dict):
        raise StoryError(f"{where}: a turn is a mapping with one of {', '.join(TURN_KEYS)}")
    actions = [k for k in TURN_KEYS if k in turn]
    if len(actions) != 1:
        raise StoryError(f"{where}: exactly one of {', '.join(TURN_KEYS)} is required")
    for key in turn:
        if key not in (*TURN_KEYS, "expect"):
            raise StoryError(f"{where}.{key}: unknown key")
    if "after" in turn:
        try:
            parse_duration(turn["after"])
        except ValueError as exc:
            raise StoryError(f"{where}.after: {exc}") from exc
    if "agent" in turn:
        _check_agent(f"{where}.agent", turn["agent"])
    if "press" in turn and not (isinstance(turn["press"], int) and turn["press"] >= 1):
        raise StoryError(f"{where}.press: a button number (1-based) is required")
    for key in turn.get("expect") or {}:
        if key not in EXPECT_KEYS:
            raise StoryError(f"{where}.expect.{key}: unknown expectation "
                             f"(expected one of {', '.join(EXPECT_KEYS)})")


def _check_agent(where: str, value: Any) -> None:
    action = value if isinstance(value, str) else next(iter(value), None) if isinstance(
        value, dict) else None
    if action not in AGENT_ACTIONS:
        raise StoryError(f"{where}: one of {', '.join(AGENT_ACTIONS)} "
                         "(reply, note and commit take text: {reply: ...})")
    if action == "commit":
        try:
            parse_duration(value.get("due", ""))
        except (ValueError, AttributeError) as exc:
            raise StoryError(f"{where}.due: {exc}") from exc
    if action == "hand_back" and isinstance(value, dict) and (
            value["hand_back"] not in HAND_BACK_CHOICES):
        raise StoryError(f"{where}.hand_back: one of {', '.join(HAND_BACK_CHOICES)}")


class StoryRun:
    """One story against fresh records (a temporary file, or `records`: e.g. an empty
    PostgreSQL database) and a virtual clock."""

    def __init__(self, story: Story, dialog: Dialog, records: str | None = None) -> None:
        self.story, self.dialog = story, dialog
        tz = ZoneInfo(dialog.timezone)
        self.now = story.start or datetime(2026, 11, 23, 10, 0, tzinfo=tz)
        self._dir = tempfile.TemporaryDirectory(prefix="heard-story-")
        self.db: str | Path = records or Path(self._dir.name) / "story.db"
        self.store = Store.open(self.db)
        self.user = f"story-{story.index}"
        self.serial = 0
        self.last_buttons: tuple[Any, ...] = ()

    def run(self) -> list[Failure]:
        failures: list[Failure] = []
        try:
            for t, turn in enumerate(self.story.turns, start=1):
                action = _describe(turn)
                try:
                    replies, followups = self._play(turn)
                except _TurnError as exc:
                    failures.append(self._fail(t, action, str(exc)))
                    break
                for what in self._check(turn.get("expect") or {}, replies, followups):
                    failures.append(self._fail(t, action, what))
        finally:
            self.store.close()
            self._dir.cleanup()
        return failures

    def _fail(self, t: int, action: str, what: str) -> Failure:
        return Failure(self.story.name, self.story.file, t, action, what)

    def _play(self, turn: dict[str, Any]) -> tuple[list[Outgoing], int]:
        if "restart" in turn:     # Heard stops and starts again: only the file remains
            self.store.close()
            self.store = Store.open(self.db)
            return [], 0
        if "agent" in turn:
            return self._agent(turn["agent"]), 0
        if "after" in turn:
            # The clock moves in small steps, with the timers run at each, as a running
            # server's scheduler would (quiet hours, retries and caps happen on the way).
            end = self.now + parse_duration(turn["after"])
            results = []
            while self.now < end:
                self.now = min(self.now + TIMER_STEP, end)
                with self.store.transaction():
                    results += turns.run_due(self.store, self.dialog, self.now)
            replies = [o for r in results for o in r.step.outgoing]
            self._remember(replies)
            return replies, sum(1 for r in results for e in r.step.events if e.kind == "followup_sent")
        self.now += timedelta(seconds=30)
        self.serial += 1
        text, payload = "", None
        if "say" in turn:
            text = str(turn["say"]) if turn["say"] is not None else ""
        else:
            payload = self._press(int(turn["press"]))
        incoming = Incoming(
            channel="story", user_id=self.user, event_id=str(self.serial), received_at=self.now,
            text=text, payload=payload,
            profile=Profile(display_name=self.story.customer_name, language_code=self.story.locale),
        )
        with self.store.transaction():
            result = turns.handle_incoming(self.store, self.dialog, incoming, self.now)
        replies = list(result.step.outgoing) if result else []
        self._remember(replies)
        return replies, 0

    def _agent(self, value: Any) -> list[Outgoing]:
        """A person acts on the customer's latest case (as in the console)."""
        from bot import agents
        from bot.engine import Context

        self.now += timedelta(seconds=30)
        case = self._case()
        if case is None:
            raise _TurnError("agent: there is no case yet")
        action = value if isinstance(value, str) else next(iter(value))
        args: dict[str, Any] = {}
        if action in ("reply", "note"):
            args = {"text": str(value[action])}
        elif action == "commit":
            args = {"commitment": str(value["commit"]),
                    "due_at": self.now + parse_duration(value["due"])}
        elif action == "hand_back":
            args = {"then": value["hand_back"] if isinstance(value, dict) else "listen"}
        ctx = Context(dialog=self.dialog, now=self.now,
                      new_case_number=lambda: self.store.next_case_number(self.now.year))
        try:
            step = getattr(agents, action)(case, "story-agent", ctx=ctx, **args)
        except agents.ActionError as exc:
            raise _TurnError(f"agent: {exc}") from exc
        with self.store.transaction():
            self.store.apply(step, None, self.now)
        self._remember(step.outgoing)
        return list(step.outgoing)

    def _press(self, number: int) -> str:
        if not self.last_buttons:
            raise _TurnError("press: the bot's last reply had no buttons")
        if number > len(self.last_buttons):
            raise _TurnError(f"press: {number}, but the last reply had only "
                             f"{len(self.last_buttons)} buttons")
        return str(self.last_buttons[number - 1].payload)

    def _remember(self, replies: Sequence[Outgoing]) -> None:
        with_buttons = [o for o in replies if o.buttons]
        if with_buttons:
            self.last_buttons = with_buttons[-1].buttons

    def _case(self) -> CaseState | None:
        return self.store.latest_case(f"story:{self.user}")

    def _check(self, expect: dict[str, Any], replies: list[Outgoing], followups: int) -> Iterator[str]:
        case = self._case()
        said = "\n".join(o.text for o in replies)
        for key, wanted in expect.items():
            yield from CHECKS[key](self, case, wanted, replies, said, followups)


class _TurnError(Exception):
    pass


def _describe(turn: dict[str, Any]) -> str:
    for key in TURN_KEYS:
        if key in turn:
            value = str(turn[key])
            return f"{key}: {value[:40]}{'…' if len(value) > 40 else ''}"
    return "?"


def _field(name: str) -> Callable[..., Iterator[str]]:
    def check(run: StoryRun, case: CaseState | None, wanted: Any, *_: Any) -> Iterator[str]:
        got = getattr(case, name) if case else None
        if got != wanted:
            yield f"{name}: expected {wanted!r}, got {got!r}"
    return check


def _escalated(run: StoryRun, case: CaseState | None, wanted: Any, *_: Any) -> Iterator[str]:
    got = case is not None and case.stage == "handoff"
    if got != bool(wanted):
        stage = case.stage if case else None
        yield f"escalated: expected {bool(wanted)}, got {got} (stage {stage!r})"


def _signals(run: StoryRun, case: CaseState | None, wanted: Any, *_: Any) -> Iterator[str]:
    fired = case.signal_names() if case else set()
    missing = [name for name in _as_list(wanted) if name not in fired]
    if missing:
        yield f"signals: expected {missing} to have fired, fired: {sorted(fired)}"


def _remedies(run: StoryRun, case: CaseState | None, wanted: Any,
              replies: list[Outgoing], *_: Any) -> Iterator[str]:
    got = sum(1 for o in replies for b in o.buttons if b.payload.startswith("remedy:"))
    if got != wanted:
        yield f"remedies: expected {wanted} remedy buttons, got {got}"


def _contains(run: StoryRun, case: CaseState | None, wanted: Any,
              replies: list[Outgoing], said: str, *_: Any) -> Iterator[str]:
    for part in _as_list(wanted):
        if str(part) not in said:
            yield f"reply_contains: {part!r} not in the replies: {said!r}"


def _not_contains(run: StoryRun, case: CaseState | None, wanted: Any,
                  replies: list[Outgoing], said: str, *_: Any) -> Iterator[str]:
    for part in _as_list(wanted):
        if str(part) in said:
            yield f"reply_not_contains: {part!r} is in the replies: {said!r}"


def _followup_sent(run: StoryRun, case: CaseState | None, wanted: Any,
                   replies: list[Outgoing], said: str, followups: int) -> Iterator[str]:
    if (followups > 0) != bool(wanted):
        yield f"followup_sent: expected {bool(wanted)}, got {followups > 0}"


def _followups(run: StoryRun, case: CaseState | None, wanted: Any,
               replies: list[Outgoing], said: str, followups: int) -> Iterator[str]:
    if followups != int(wanted):
        yield f"followups: expected {wanted} follow-ups sent in this turn, got {followups}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


CHECKS: dict[str, Callable[..., Iterator[str]]] = {
    "stage": _field("stage"),
    "outcome": _field("outcome"),
    "category": _field("category"),
    "severity": _field("severity"),
    "locale": _field("locale"),
    "escalated": _escalated,
    "signals": _signals,
    "remedies": _remedies,
    "reply_contains": _contains,
    "reply_not_contains": _not_contains,
    "followup_sent": _followup_sent,
    "followups": _followups,
}


def run_stories(stories: Sequence[Story], dialog: Dialog,
                fresh: Callable[[], str] | None = None) -> Report:
    """Every story on its own fresh records (`fresh()` gives each its own, e.g. a new
    PostgreSQL database; default: a temporary SQLite file)."""
    report = Report()
    for story in stories:
        failures = StoryRun(story, dialog, fresh() if fresh else None).run()
        if failures:
            report.failed += 1
            report.failures.extend(failures)
        else:
            report.passed += 1
    return report
