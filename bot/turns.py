"""One customer turn, end to end against the store: dedupe, engine step, one transaction.

These functions run on the writer's thread (or the CLI's only thread): they read the
conversation's state, run the pure engine and hand the whole step to `Store.apply`,
which the caller's transaction commits at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot import engine
from bot.case import CaseState, Step
from bot.types import Incoming
from bot.when import contact_time
from dialogs.model import Dialog
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
    store.upsert_customer(key, incoming.channel, incoming.user_id,
                          incoming.profile.display_name, incoming.profile.language_code, now)
    case = store.latest_case(key)
    window = timedelta(days=int(dialog.signals["repeated"].params.get("window_days", 30)))
    ctx = engine.Context(
        dialog=dialog, now=now,
        new_case_number=lambda: store.next_case_number(now.year),
        history=lambda: store.recent_cases(key, since=now - window),
    )
    step = engine.step(case, incoming, ctx)
    return TurnResult(step, store.apply(step, incoming, now))


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
