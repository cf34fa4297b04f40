"""The complaint record as the engine sees it, and the results of one engine step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.types import Outgoing

STAGES: tuple[str, ...] = ("listening", "confirming", "offering", "committed", "handoff", "closed")


@dataclass(frozen=True, slots=True)
class SignalHit:
    """A risk signal that fired: its weight and the words or facts that fired it."""

    name: str
    weight: float
    words: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "words": list(self.words)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignalHit:
        return cls(d["name"], float(d["weight"]), tuple(d["words"]))


@dataclass(slots=True)
class CaseState:
    """One complaint. Every field is stored (see storage/ `cases` table)."""

    number: str                       # 2026CS000123
    conversation_key: str             # channel:user id
    channel: str
    customer_name: str | None
    locale: str
    stage: str
    received_at: datetime
    updated_at: datetime
    first_response_due: datetime
    severity: str = "standard"
    category: str | None = None
    category_words: list[str] = field(default_factory=list)
    situation: str | None = None                             # e.g. late, double_charge
    risk: float = 0.0
    signals: list[SignalHit] = field(default_factory=list)   # every signal fired in this case
    account: list[str] = field(default_factory=list)         # the customer's telling, message by message
    telling_from: int = 0                                    # account[telling_from:]: as corrected
    amended: list[str] = field(default_factory=list)         # the telling a correction put right (bot.amend)
    refused: list[str] = field(default_factory=list)         # the telling just answered "not quite"
    summary: str | None = None                               # the restated problem
    details: dict[str, list[str]] = field(default_factory=dict)  # order_numbers, dates, amounts, products
    prompts: int = 0                                         # short questions asked while listening
    misses: int = 0                                          # "not quite" answers
    offered: list[str] = field(default_factory=list)         # remedy ids offered
    rejections: int = 0
    remedy_id: str | None = None
    commitment: str | None = None
    due_at: datetime | None = None
    followup_at: datetime | None = None
    followups_sent: int = 0
    progress_asks: int = 0
    owner: str = "bot"                                       # bot | agent:<id> | team
    outcome: str | None = None                               # resolved | partly | not_solved
    csat: int | None = None
    remark: str | None = None
    awaiting: str | None = None                              # followup | rating | None
    closed_at: datetime | None = None
    reopened: int = 0
    handled: int = 0                                         # signals a person already dealt with
    handoff_at: datetime | None = None
    claimed_at: datetime | None = None
    sla_breached: bool = False
    fulfilled_at: datetime | None = None                     # the commitment was kept
    overdue_reminded: bool = False                           # the owner was told it is overdue
    handoff_ack_at: datetime | None = None                   # last "passed on, we'll reply" in handoff
    labels: list[str] = field(default_factory=list)          # dialog label ids and free labels (bot.labels)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # photos and files kept

    def telling(self) -> list[str]:
        """The customer's telling as it stands: what a correction replaced is left out, and
        a correction that put one part right is read into what it corrected."""
        return [*self.amended, *self.account[self.telling_from:]]

    def active_signals(self) -> list[SignalHit]:
        """Signals fired since a person last handed the case back (these count for risk)."""
        return self.signals[self.handled:]

    def signal_names(self) -> set[str]:
        return {s.name for s in self.signals}

    def to_record(self) -> dict[str, Any]:
        """A flat dict for the store: datetimes as ISO strings, lists as lists."""
        out: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            v = getattr(self, name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif name == "signals":
                v = [s.as_dict() for s in v]
            out[name] = v
        return out

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> CaseState:
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in rec:
                continue
            v = rec[f.name]
            if f.name == "signals":
                v = [SignalHit.from_dict(s) for s in (v or [])]
            elif f.name in _DATETIME_FIELDS and isinstance(v, str):
                v = datetime.fromisoformat(v)
            kw[f.name] = v
        return cls(**kw)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(CaseState))   # read once, not per record
_DATETIME_FIELDS = {
    "received_at", "updated_at", "first_response_due", "due_at", "followup_at", "closed_at",
    "handoff_at", "claimed_at", "fulfilled_at", "handoff_ack_at",
}


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """Something that happened to a case, kept in its event log (explainability)."""

    kind: str            # opened, classified, stage, escalated, committed, reopened, followup, rated
    data: dict[str, Any]
    at: datetime


@dataclass(slots=True)
class Step:
    """What one engine step produced. Stored in ONE transaction by `storage`."""

    case: CaseState | None
    outgoing: list[Outgoing] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    new_case: bool = False
