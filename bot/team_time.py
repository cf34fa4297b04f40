"""Times as the team reads them: in the team's time zone (the dialog's), written as ISO 8601
with that zone's offset, and the zone named beside them (a heading in text, a `time_zone`
column in CSV). One format for `heard report`, `heard cases` and every export."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.case import CaseState

# The record's moments: every field typed as a datetime.
DATETIME_FIELDS = frozenset(f.name for f in fields(CaseState) if "datetime" in str(f.type))


def shown(moment: datetime | str | None, tz: ZoneInfo, timespec: str = "minutes") -> str:
    """`2026-11-24T14:05+08:00` for a moment (or an ISO string); "-" for none."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(tz).isoformat(timespec=timespec)


def in_zone(record: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """A case record with its times in the team's zone (ISO 8601, seconds, with offset)."""
    return {k: shown(v, tz, "seconds") if k in DATETIME_FIELDS and v else v
            for k, v in record.items()}


def zone_note(tz: ZoneInfo) -> str:
    return f"times in {tz.key}"
