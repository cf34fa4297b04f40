"""Trying the bot without touching the real records: `heard chat` and the console's "Try it
as a customer" keep their conversations in a separate sandbox file beside the records
(`sandbox.db`), so a test never reaches the agents' queue, the reports or the exports.

A sandbox turn is a real turn (the live dialog, the same engine and store code); only the
file differs, and the replies are shown on screen instead of being sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bot import turns
from bot.types import Incoming, Outgoing, Profile
from dialogs.model import Dialog
from storage.migrations import is_postgres
from storage.store import Store

CHANNEL = "sandbox"
NOTICE = {
    "zh-TW": "這是測試環境，不會進入案件佇列或報表。",
    "zh-CN": "这是测试环境，不会进入案件队列或报表。",
    "en": "This is a sandbox: nothing here reaches the case queue or the reports.",
}


def sandbox_path(records: Path | str) -> Path | str:
    """The sandbox file beside the records (":memory:" stays in memory; with the records
    on PostgreSQL, `data/sandbox.db`: a sandbox is one machine's own)."""
    if str(records) == ":memory:":
        return ":memory:"
    if is_postgres(records):
        return Path("data/sandbox.db")
    return Path(records).parent / "sandbox.db"


def notice(locale: str | None) -> str:
    return NOTICE.get(locale or "zh-TW", NOTICE["zh-TW"])


def sandbox_turn(store: Store, dialog: Dialog, user: str, now: datetime, *, text: str = "",
                 payload: str | None = None, locale: str | None = None) -> dict[str, Any]:
    """One customer turn in the sandbox: timers that came due first, then what the customer
    did. Returns what the bot said (text and buttons) and where the case stands."""
    with store.transaction():
        due = turns.run_due(store, dialog, now)
    incoming = Incoming(channel=CHANNEL, user_id=user, event_id=uuid.uuid4().hex,
                        received_at=now, text=text, payload=payload,
                        profile=Profile(language_code=locale))
    with store.transaction():
        handled = turns.handle_incoming(store, dialog, incoming, now)
        results = [*due, *([handled] if handled else [])]
        for result in results:
            for outbox_id in result.outbox_ids:
                store.mark_sent(outbox_id, now)      # shown on screen: that is the delivery
    said = [_said(out) for r in results for out in r.step.outgoing
            if r.step.case is None or r.step.case.conversation_key == incoming.conversation_key]
    case = handled.step.case if handled else None
    return {"messages": said, "case": None if case is None else {
        "number": case.number, "stage": case.stage, "category": case.category,
        "severity": case.severity}}


def _said(out: Outgoing) -> dict[str, Any]:
    return {"text": out.text, "buttons": [{"label": b.label, "payload": b.payload}
                                          for b in out.buttons]}
