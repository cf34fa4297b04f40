"""`heard cases`: the complaint records, read from the store for people. Times are the
team's (`tz`, the dialog's zone): ISO 8601 with its offset, the zone named (bot/team_time.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.case import CaseState
from bot.details import mask_pii
from bot.team_time import DATETIME_FIELDS, shown, zone_note
from storage.store import Store

UTC_ZONE = ZoneInfo("UTC")


def list_cases(db: str | Path, out: TextIO, *, stage: str | None = None, category: str | None = None,
               severity: str | None = None, label: str | None = None, limit: int = 50,
               tz: ZoneInfo = UTC_ZONE) -> int:
    store = Store.open(db)
    try:
        cases = store.list_cases(stage=stage, category=category, severity=severity, label=label,
                                 limit=limit)
    finally:
        store.close()
    if not cases:
        print("no cases", file=out)
        return 0
    print(f"{'case':14} {'received':22} {'stage':10} {'category':10} {'severity':8} summary"
          f"  ({zone_note(tz)})", file=out)
    for case in cases:
        print(_row(case, tz), file=out)
    return 0


def _row(case: CaseState, tz: ZoneInfo) -> str:
    summary = mask_pii((case.summary or " / ".join(case.account) or "-").replace("\n", " "))
    return (f"{case.number:14} {shown(case.received_at, tz):22} {case.stage:10} "
            f"{case.category or '-':10} {case.severity:8} {summary[:60]}")


def show_case(db: str | Path, number: str, out: TextIO, tz: ZoneInfo = UTC_ZONE) -> int:
    store = Store.open(db)
    try:
        case = store.get_case(number)
        if case is None:
            print(f"error: no case {number}", file=out)
            return 1
        messages, events = store.messages(number), store.events(number)
    finally:
        store.close()
    record = case.to_record()
    for key in ("number", "stage", "channel", "conversation_key", "customer_name", "locale",
                "received_at", "category", "category_words", "severity", "risk", "summary",
                "remedy_id", "commitment", "due_at", "followup_at", "owner", "outcome", "csat"):
        value = shown(record[key], tz) if key in DATETIME_FIELDS else record[key]
        print(f"{key:18} {value}", file=out)
    print(f"{'time zone':18} {tz.key}", file=out)
    print(f"{'evidence':18} {len(case.evidence)} photo(s) or file(s) kept", file=out)
    print("\nsignals:", file=out)
    for s in case.signals:
        print(f"  {s.name:18} weight {s.weight:<4} words: {', '.join(s.words)}", file=out)
    print("\nconversation:", file=out)
    for m in messages:
        who = "customer" if m["direction"] == "in" else "bot"
        print(f"  {shown(m['at'], tz)} {who:8} {mask_pii(m['text'] or m['payload'] or '')}", file=out)
    print("\nevents:", file=out)
    for e in events:
        print(f"  {shown(e['at'], tz)} {e['kind']:14} {json.dumps(e['data'], ensure_ascii=False)}", file=out)
    return 0


def export_cases(db: str | Path, out: TextIO, tz: ZoneInfo = UTC_ZONE) -> int:
    store = Store.open(db)
    try:
        store.export_cases_csv(out, tz)
    finally:
        store.close()
    return 0
