"""`heard cases`: the complaint records, read from the store for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from bot.case import CaseState
from bot.details import mask_pii
from storage.store import Store


def list_cases(db: Path, out: TextIO, *, stage: str | None = None, category: str | None = None,
               severity: str | None = None, limit: int = 50) -> int:
    store = Store.open(db)
    try:
        cases = store.list_cases(stage=stage, category=category, severity=severity, limit=limit)
    finally:
        store.close()
    if not cases:
        print("no cases", file=out)
        return 0
    print(f"{'case':14} {'received':16} {'stage':10} {'category':10} {'severity':8} summary", file=out)
    for case in cases:
        print(_row(case), file=out)
    return 0


def _row(case: CaseState) -> str:
    summary = mask_pii((case.summary or " / ".join(case.account) or "-").replace("\n", " "))
    return (f"{case.number:14} {case.received_at:%Y-%m-%d %H:%M} {case.stage:10} "
            f"{case.category or '-':10} {case.severity:8} {summary[:60]}")


def show_case(db: Path, number: str, out: TextIO) -> int:
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
        print(f"{key:18} {record[key]}", file=out)
    print(f"{'evidence':18} {len(case.evidence)} photo(s) or file(s) kept", file=out)
    print("\nsignals:", file=out)
    for s in case.signals:
        print(f"  {s.name:18} weight {s.weight:<4} words: {', '.join(s.words)}", file=out)
    print("\nconversation:", file=out)
    for m in messages:
        who = "customer" if m["direction"] == "in" else "bot"
        print(f"  {m['at'][:16]} {who:8} {mask_pii(m['text'] or m['payload'] or '')}", file=out)
    print("\nevents:", file=out)
    for e in events:
        print(f"  {e['at'][:16]} {e['kind']:14} {json.dumps(e['data'], ensure_ascii=False)}", file=out)
    return 0


def export_cases(db: Path, out: TextIO) -> int:
    store = Store.open(db)
    try:
        store.export_cases_csv(out)
    finally:
        store.close()
    return 0
