"""One engine step in the records: its rows worked out first, then written.

`step_rows()` turns a step into the statements' parameters (the case record and every
JSON column serialised, times formatted, retry keys drawn) without touching the store, so
a turn worked out ahead (bot/turns.py `prepare_turn`) does that part outside the write
lock too; `StepStore.apply()` writes them in the caller's transaction: the case, the
event as processed, the customer's message and attachment, the step's events, each bot
message in the transcript and the outbox, and the case's one pending follow-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.case import CaseState
from storage.sql import SqlBase, json_text

if TYPE_CHECKING:
    from bot.case import Step
    from bot.types import Attachment, Incoming

CASE_UPSERT = (
    "INSERT INTO cases (number, conversation_key, channel, stage, category, severity, "
    "locale, owner, risk, summary, received_at, received_ts, updated_at, record, "
    "response_due_ts, commit_due_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(number) DO UPDATE SET "
    "stage = excluded.stage, category = excluded.category, severity = excluded.severity, "
    "locale = excluded.locale, owner = excluded.owner, risk = excluded.risk, "
    "summary = excluded.summary, updated_at = excluded.updated_at, "
    "record = excluded.record, response_due_ts = excluded.response_due_ts, "
    "commit_due_ts = excluded.commit_due_ts")
MESSAGE_INSERT = (
    "INSERT INTO messages (case_number, conversation_key, channel, direction, event_id, "
    "text, payload, buttons, kind, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
OUTBOX_INSERT = (
    "INSERT INTO outbox (case_number, conversation_key, channel, user_id, text, buttons, "
    "kind, reply_token, token_ts, status, attempts, created_at, created_ts, "
    "next_try_ts, retry_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, 0, ?)")
ATTACHMENT_INSERT = (
    "INSERT INTO attachments (case_number, conversation_key, message_id, event_id, kind, "
    "mime, size, name, sha256, status, reason, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
PROCESSED_INSERT = "INSERT INTO processed_events (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING"
EVENT_INSERT = "INSERT INTO case_events (case_number, kind, data, at) VALUES (?, ?, ?, ?)"


def case_row(case: CaseState) -> tuple[Any, ...]:
    """`CASE_UPSERT`'s parameters: the listing columns and the whole record."""
    waiting = case.stage == "handoff" and case.owner == "team" and not case.sla_breached
    promised = (case.stage == "committed" and case.due_at is not None
                and case.fulfilled_at is None and not case.overdue_reminded)
    return (case.number, case.conversation_key, case.channel, case.stage, case.category,
            case.severity, case.locale, case.owner, case.risk, case.summary,
            case.received_at.isoformat(), case.received_at.timestamp(),
            case.updated_at.isoformat(), json_text(case.to_record()),
            case.first_response_due.timestamp() if waiting and case.first_response_due else None,
            case.due_at.timestamp() if promised and case.due_at else None)


def message_row(case_number: str | None, conversation_key: str, channel: str, direction: str,
                at: datetime, *, text: str | None = None, payload: str | None = None,
                buttons: list[dict[str, str]] | None = None, kind: str | None = None,
                event_id: str | None = None) -> tuple[Any, ...]:
    return (case_number, conversation_key, channel, direction, event_id, text, payload,
            json_text(buttons) if buttons else None, kind, at.isoformat())


def outbox_row(case_number: str | None, conversation_key: str, channel: str, user_id: str,
               text: str, buttons: list[dict[str, str]], kind: str, reply_token: str | None,
               at: datetime, token_at: datetime | None = None) -> tuple[Any, ...]:
    """`OUTBOX_INSERT`'s parameters. `retry_key` stays the same across every retry (LINE
    push); `token_at` is when the reply token arrived (its age counts from then)."""
    token_ts = (token_at or at).timestamp() if reply_token else None
    return (case_number, conversation_key, channel, user_id, text, json_text(buttons), kind,
            reply_token, token_ts, at.isoformat(), at.timestamp(), str(uuid.uuid4()))


def event_row(case_number: str, kind: str, data: dict[str, Any], at: datetime
              ) -> tuple[Any, ...]:
    return (case_number, kind, json_text(data), at.isoformat())


def attachment_row(case_number: str | None, conversation_key: str, message_id: int,
                   event_id: str, attachment: Attachment, at: datetime) -> tuple[Any, ...]:
    return (case_number, conversation_key, message_id, event_id, attachment.kind,
            attachment.mime, attachment.size, attachment.name, attachment.sha256,
            attachment.status, attachment.reason, at.isoformat())


@dataclass(frozen=True, slots=True)
class StepRows:
    """What `apply` writes for one step, ready as statement parameters."""

    case: tuple[Any, ...] | None
    processed: tuple[str, str] | None
    said: tuple[Any, ...] | None                 # the customer's message
    attachment: Attachment | None                # kept with the message's id, once known
    events: list[tuple[Any, ...]]
    outgoing: list[tuple[tuple[Any, ...], tuple[Any, ...]]]   # (transcript, outbox)


def step_rows(step: Step, incoming: Incoming | None, at: datetime) -> StepRows:
    """The rows of `step`, worked out without the store. Only replies carry the event's
    reply token (and when the event arrived: the token's age counts from then);
    everything else is pushed."""
    case = step.case
    number = case.number if case else None
    said = attachment = processed = None
    if incoming is not None:
        processed = (f"{incoming.channel}:{incoming.event_id}", at.isoformat())
        said = message_row(number, incoming.conversation_key, incoming.channel, "in", at,
                           text=incoming.text, payload=incoming.payload,
                           event_id=incoming.event_id)
        if incoming.attachment is not None and incoming.attachment.status != "ignored":
            attachment = incoming.attachment
    outgoing: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    key = case.conversation_key if case else incoming.conversation_key if incoming else None
    if key is not None:
        channel, _, user_id = key.partition(":")
        reply_token = incoming.reply_token if incoming is not None else None
        token_at = incoming.received_at if incoming is not None else None
        for out in step.outgoing:
            buttons = [{"label": b.label, "payload": b.payload} for b in out.buttons]
            outgoing.append((
                message_row(number, key, channel, "out", at, text=out.text, buttons=buttons,
                            kind=out.kind),
                outbox_row(number, key, channel, user_id, out.text, buttons, out.kind,
                           reply_token if out.kind == "reply" else None, at, token_at)))
    events = ([event_row(case.number, e.kind, e.data, e.at) for e in step.events]
              if case is not None else [])
    return StepRows(case_row(case) if case is not None else None, processed, said,
                    attachment, events, outgoing)


class StepStore(SqlBase):
    """Mixed into `Store`: a whole engine step in the caller's transaction."""

    def apply(self, step: Step, incoming: Incoming | None, at: datetime,
              rows: StepRows | None = None) -> list[int]:
        """Store one engine step; returns the outbox ids. `rows`: `step_rows()` of this
        very step, worked out before (else here)."""
        if rows is None:
            rows = step_rows(step, incoming, at)
        case = step.case
        if rows.case is not None:
            self._x(CASE_UPSERT, rows.case)
        if rows.processed is not None:
            self._x(PROCESSED_INSERT, rows.processed)
        if rows.said is not None and incoming is not None:
            message_id = self._insert(MESSAGE_INSERT, rows.said)
            if rows.attachment is not None:
                self._insert(ATTACHMENT_INSERT, attachment_row(
                    case.number if case else None, incoming.conversation_key, message_id,
                    incoming.event_id, rows.attachment, at))
        if rows.events:
            self._many(EVENT_INSERT, rows.events)
        ids = []
        for message, queued in rows.outgoing:
            self._insert(MESSAGE_INSERT, message)
            ids.append(self._insert(OUTBOX_INSERT, queued))
        if case is not None:
            self._sync_followup(case, at)
        return ids

    def _sync_followup(self, case: CaseState, at: datetime) -> None:
        """Exactly one pending follow-up per case, at `case.followup_at`, or none."""
        if case.remedy_id is None and case.followup_at is None:
            return   # never committed: no follow-up was ever scheduled
        pending = self.pending_followups(case.number)
        wanted = case.followup_at if case.stage == "committed" else None
        if wanted is not None and len(pending) == 1 and pending[0]["due_ts"] == wanted.timestamp():
            return
        if pending:
            self.cancel_followups(case.number, at)
        if wanted is not None:
            self.schedule_followup(case.number, wanted, at)

    def pending_followups(self, case_number: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def cancel_followups(self, case_number: str, at: datetime) -> None:
        raise NotImplementedError

    def schedule_followup(self, case_number: str, due_at: datetime, at: datetime) -> int:
        raise NotImplementedError
