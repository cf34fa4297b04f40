"""`heard cases search WORDS`: the cases where every word occurs (the conversation, the
case number, the customer's name, the order numbers), newest first, with where it matched.
Phone numbers and e-mail addresses in the matched text are masked, as in `heard cases`."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.details import mask_pii
from storage.search import SearchError, SearchHit
from storage.store import Store

WHERE = {"customer": "customer's name", "order": "order number", "number": "case number"}


def search_cases(db: str | Path, words: list[str], out: TextIO, err: TextIO, limit: int = 20) -> int:
    """Print the matches; 0 when the search ran (found or not), 2 for a search to fix."""
    store = Store.open(db)
    try:
        hits = store.search_cases(" ".join(words), limit)
    except SearchError as exc:
        print(f"error: {exc}", file=err)
        return 2
    finally:
        store.close()
    if not hits:
        print(f"no cases match {' '.join(words)}", file=out)
        return 0
    for hit in hits:
        print(_row(hit), file=out)
    return 0


def _row(hit: SearchHit) -> str:
    case = hit.case
    labels = f"  [{', '.join(case.labels)}]" if case.labels else ""
    where = f"{hit.who} said" if hit.field == "message" else WHERE[hit.field]
    return (f"{case.number:14} {case.received_at:%Y-%m-%d %H:%M} {case.stage:10} "
            f"{case.customer_name or '-'}{labels}\n"
            f"    {where}: {mask_pii(hit.snippet)}")
