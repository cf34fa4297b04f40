"""`heard report`: the body behind bot/cli.py. The period's figures, per agent and the
trend as tables; `--csv` (the figures), `--csv agents` or `--csv trend` for a spreadsheet.
Days are the team's (the dialog's time zone), named in the output."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.agent_report import (
    PeriodRecords,
    agent_figures,
    trend,
    trend_step,
    write_agents_csv,
    write_agents_text,
    write_trend_csv,
    write_trend_text,
)
from bot.reports import build_report, period, write_csv, write_text
from storage.store import Store

EXIT_OK, EXIT_USAGE = 0, 2
CSV_TABLES = ("figures", "agents", "trend")


def run(args: argparse.Namespace, db: str | Path, zone: str) -> int:
    tz = ZoneInfo(zone)
    try:
        first = datetime.fromisoformat(args.start).date() if args.start else None
        last = datetime.fromisoformat(args.to).date() if args.to else None
    except ValueError as exc:
        print(f"error: {exc} (use dates like 2026-11-01)", file=sys.stderr)
        return EXIT_USAGE
    start_day, end_day, start, end = period(tz, first, last, datetime.now(tz).date())
    if start >= end:
        print(f"error: --from {start_day} is after --to {end_day}", file=sys.stderr)
        return EXIT_USAGE
    store = Store.open(db)
    try:
        report = build_report(store, start, end)
        records = PeriodRecords.read(store, start, end)
    finally:
        store.close()
    figures, buckets = agent_figures(records), trend(records)
    out = sys.stdout
    if args.csv == "agents":
        write_agents_csv(figures, out)
    elif args.csv == "trend":
        write_trend_csv(buckets, out, tz.key)
    elif args.csv:
        write_csv(report, out)
    else:
        print(f"Heard report {start_day} – {end_day} ({tz.key})", end="", file=out)
        write_text(report, out)
        write_agents_text(figures, out)
        write_trend_text(buckets, trend_step(start, end), out)
    return EXIT_OK


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", help="first day, e.g. 2026-11-01 (default: 30 days ago)")
    p.add_argument("--to", help="last day, included (default: today)")
    p.add_argument("--csv", nargs="?", const="figures", choices=CSV_TABLES,
                   help="print CSV instead: the figures (section, metric, value; the default), "
                        "the per-agent table (agents) or the trend (trend)")
    p.add_argument("--db", help="SQLite file (default: HEARD_DB)")
    p.add_argument("--dialog", help="dialog file, for its time zone (default: HEARD_DIALOG)")
