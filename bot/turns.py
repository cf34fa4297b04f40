"""One customer turn, end to end against the store: dedupe, engine step, one transaction.

These functions run on the writer's thread (or the CLI's only thread): they read the
conversation's state, run the pure engine and hand the whole step to `Store.apply`,
which the caller's transaction commits at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bot import engine
from bot.case import CaseState, Step
from bot.types import Incoming
from bot.when import contact_time
from dialogs.model import Dialog
from storage.ahead import Snapshot
from storage.sql import json_value
from storage.steps import StepRows, step_rows
from storage.store import Store

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TurnResult:
    step: Step
    outbox_ids: list[int]


def event_key(incoming: Incoming) -> str:
    """Event ids are unique per channel only."""
    return f"{incoming.channel}:{incoming.event_id}"


def handle_incoming(store: Store, dialog: Dialog, incoming: Incoming, now: datetime) -> TurnResult | None:
    """Process one customer action; None when this event was processed before."""
    if store.is_processed(event_key(incoming)):
        return None
    key = incoming.conversation_key
    _seen(store, incoming, now)
    case = store.latest_case(key)
    ctx = engine.Context(
        dialog=dialog, now=now,
        new_case_number=lambda: store.next_case_number(now.year),
        history=lambda: store.recent_cases(key, since=now - _window(dialog)),
    )
    step = engine.step(case, incoming, ctx)
    return TurnResult(step, store.apply(step, incoming, now))


def _seen(store: Store, incoming: Incoming, now: datetime) -> None:
    """The customer as the event shows them (name, language, last seen)."""
    store.upsert_customer(incoming.conversation_key, incoming.channel, incoming.user_id,
                          incoming.profile.display_name, incoming.profile.language_code, now)


def _window(dialog: Dialog) -> timedelta:
    """How far back a customer's earlier cases count (the repeated-complaint signal)."""
    return timedelta(days=int(dialog.signals["repeated"].params.get("window_days", 30)))


# ---------------------------------------------------------------- turns worked out ahead


@dataclass(slots=True)
class Prepared:
    """A turn worked out from a read of the records, not yet written: what it read (to tell
    whether anything changed since) and the case numbers it was handed."""

    incoming: Incoming
    now: datetime
    step: Step
    latest: Snapshot
    history: Snapshot | None
    numbers: list[str] = field(default_factory=list)
    rows: StepRows | None = None     # what the step writes, worked out here too


class CaseNumbers:
    """Case numbers handed out ahead of their turns by one writer: each is one more than
    the last one handed out here or stored, whichever is higher. `commit_turn` claims it; a
    number handed to a turn that was worked out again is skipped (a gap, as on PostgreSQL)."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def next(self, store: Store, year: int) -> str:
        last = self._last[year] = max(self._last.get(year, 0), store.last_case_serial(year)) + 1
        return f"{year}CS{last:06d}"


def prepare_turn(store: Store, dialog: Dialog, incoming: Incoming, now: datetime,
                 numbers: CaseNumbers) -> Prepared | None:
    """The turn from a read of the records outside any write transaction, for
    `commit_turn` to write: the engine's work then keeps no other writer waiting. None when
    the event was processed before."""
    if store.is_processed(event_key(incoming)):
        return None
    key = incoming.conversation_key
    latest = store.case_records(key)
    given: list[str] = []
    history: list[Snapshot] = []

    def new_number() -> str:
        given.append(numbers.next(store, now.year))
        return given[-1]

    def recent() -> list[CaseState]:
        history.append(store.case_records(key, now - _window(dialog)))
        return _cases(history[-1])

    ctx = engine.Context(dialog=dialog, now=now, new_case_number=new_number, history=recent)
    found = _cases(latest)
    step = engine.step(found[0] if found else None, incoming, ctx)
    return Prepared(incoming, now, step, latest, history[0] if history else None, given,
                    step_rows(step, incoming, now))


def _cases(snapshot: Snapshot) -> list[CaseState]:
    """The cases of a snapshot, as the store reads them (the same read: nothing between)."""
    return [CaseState.from_record(json_value(record)) for _, record in snapshot]


class _Taken(Exception):
    """A case number handed out ahead has been taken meanwhile."""


def commit_turn(store: Store, dialog: Dialog, prepared: Prepared) -> TurnResult | None:
    """Write a prepared turn in the caller's transaction if what it read is still so (the
    conversation's cases unchanged, its case numbers free: an agent may have acted, or a
    timer fired, in between); else work it out again here, as `handle_incoming`."""
    incoming, now = prepared.incoming, prepared.now
    key = incoming.conversation_key
    if store.is_processed(event_key(incoming)):
        return None
    still = (store.case_records(key) == prepared.latest
             and (prepared.history is None
                  or store.case_records(key, now - _window(dialog)) == prepared.history))
    if still and prepared.numbers:
        try:
            with store.transaction():          # claimed together or not at all (savepoint)
                for number in prepared.numbers:
                    if not store.claim_case_number(number):
                        raise _Taken(number)
        except _Taken:
            still = False
    if not still:
        return handle_incoming(store, dialog, incoming, now)
    _seen(store, incoming, now)
    return TurnResult(prepared.step, store.apply(prepared.step, incoming, now, prepared.rows))


def run_due(store: Store, dialog: Dialog, now: datetime) -> list[TurnResult]:
    """Every timer that came due by `now`, each exactly once: follow-up callbacks and
    handed-off cases nobody took in time (SLA breaches). With workers sharing PostgreSQL,
    one tick at a time runs them, and a case whose conversation is in a turn right now
    waits for the next tick (`Store.try_lock`; SQLite has one writer: always free)."""
    results: list[TurnResult] = []
    if not store.try_lock("timers"):
        return results
    ctx = engine.Context(dialog=dialog, now=now,
                         new_case_number=lambda: store.next_case_number(now.year))

    def ours(due: Callable[[], list[T]], key: Callable[[T], str | None]) -> list[T]:
        """What is due, of the conversations no turn elsewhere holds (locked for this
        transaction), read again once they are locked: a turn that committed meanwhile
        may have changed it."""
        first = due()
        mine = {k for k in {key(x) for x in first}
                if k is None or store.try_lock("conversation " + k)}
        return [x for x in (due() if store.LOCKS and first else first) if key(x) in mine]

    for overdue in ours(lambda: store.commitments_overdue(now), _conversation):
        step = engine.due(overdue, ctx, followup=False)
        results.append(TurnResult(step, store.apply(step, None, now)))
    for row in ours(lambda: store.due_followups(now),
                    lambda row: store.conversation_of(row["case_number"])):
        case = store.get_case(row["case_number"])
        if case is None or case.stage != "committed":
            store.mark_followup(row["id"], "cancelled", now)
            continue
        later = _not_now(store, dialog, case, now)
        if later is not None:                   # quiet hours, a day off or the contact cap
            case.followup_at = later
            store.save_case(case)
            store.move_followup(row["id"], later)
            continue
        customer = store.customer(case.conversation_key)
        if customer is not None and customer["blocked"]:
            store.mark_followup(row["id"], "skipped", now)
            store.add_event(case.number, "followup_skipped", {"reason": "customer blocked the bot"},
                            now)
            continue
        step = engine.due(case, ctx)
        store.mark_followup(row["id"], "sent" if step.outgoing else "done", now)
        results.append(TurnResult(step, store.apply(step, None, now)))
    for waiting in ours(lambda: store.sla_due(now), _conversation):
        step = engine.due(waiting, ctx, followup=False)
        results.append(TurnResult(step, store.apply(step, None, now)))
    return results


def _conversation(case: CaseState) -> str:
    return case.conversation_key


def _not_now(store: Store, dialog: Dialog, case: CaseState, now: datetime) -> datetime | None:
    """When a follow-up due now must wait: `contact_time` (after the quiet hours, on a day
    the team works: what the customer was told), or when the customer's contact cap frees
    up. None: send now."""
    rules = dialog.followups
    send_at = contact_time(dialog, now)
    if send_at > now:
        return send_at
    if case.awaiting == "followup" and case.followups_sent >= rules.tries:
        return None                             # closing as "no answer" contacts nobody
    window = timedelta(days=rules.per_days)
    sent = store.contacts_since(case.conversation_key, now - window)
    if len(sent) >= rules.max_contacts:
        return contact_time(dialog, sent[-rules.max_contacts] + window)
    return None


def current_case(store: Store, conversation_key: str) -> CaseState | None:
    return store.latest_case(conversation_key)
