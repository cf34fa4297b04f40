"""The `heard` command line. Each subcommand is a small function in COMMANDS.

Library errors are turned into one clear line on stderr and a non-zero exit here, and
only here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from bot.config import Settings, records_fields
from dialogs.loader import DialogError, load_dialog
from dialogs.model import Dialog
from storage.migrations import RecordsError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _records(args: argparse.Namespace, settings: Settings) -> str | Path | None:
    """The records the command reads (a file, or a PostgreSQL URL), or None (with the
    reason said) if there are none."""
    db = records_of(args, settings)
    if isinstance(db, Path) and not db.exists():
        print(f"error: no complaint records at {db} (run `heard serve` or `heard chat` first)",
              file=sys.stderr)
        return None
    return db


def records_of(args: argparse.Namespace, settings: Settings) -> str | Path:
    """`--db` (a file or a URL) or HEARD_DB."""
    if not getattr(args, "db", None):
        return settings.records
    return dataclasses.replace(settings, **records_fields(args.db)).records


def _dialog(args: argparse.Namespace, settings: Settings) -> Dialog:
    return load_dialog(Path(args.dialog) if getattr(args, "dialog", None) else settings.dialog_path)


# ---------------------------------------------------------------- chat


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.terminal import TerminalChat
    from bot.sandbox import notice, sandbox_path

    db = records_of(args, settings)
    if not args.real:
        db = Path(sandbox_path(db))
        print(f"{notice(args.locale)} ({db}; --real writes to the real records)")
    chat = TerminalChat(_dialog(args, settings), db, locale=args.locale)
    return chat.run(sys.stdin, sys.stdout)


# ---------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import serve

    return serve(settings, host=args.host, port=args.port, db=args.db, dialog=args.dialog,
                 telegram_polling=args.telegram_polling, workers=args.workers)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrations import shown
    from storage.store import Store

    db = records_of(args, settings)
    try:
        store = Store.open(db)
    except RecordsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"the records at {shown(db)} are at schema version {store.schema_version}")
    store.close()
    return EXIT_OK


def cmd_telegram(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from telegram import Bot

    if not settings.telegram_enabled:
        print("error: set TELEGRAM_BOT_TOKEN first (see .env.example)", file=sys.stderr)
        return EXIT_USAGE

    async def run() -> str:
        async with Bot(settings.telegram_token, base_url=settings.telegram_api_url) as bot:
            if args.action == "delete-webhook":
                await bot.delete_webhook()
                return "webhook removed"
            if not args.url:
                raise ValueError("heard telegram set-webhook URL")
            await bot.set_webhook(args.url, secret_token=settings.telegram_secret or None,
                                  allowed_updates=["message", "callback_query"])
            return f"webhook set to {args.url}"

    try:
        print(asyncio.run(run()))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        print(f"error: Telegram refused: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


# ---------------------------------------------------------------- agents


def cmd_agents(args: argparse.Namespace, settings: Settings) -> int:
    from bot.agents_cli import run

    return run(args, records_of(args, settings))


# ---------------------------------------------------------------- reload


def cmd_reload(args: argparse.Namespace, settings: Settings) -> int:
    import json as json_
    import urllib.error
    import urllib.request

    url = args.url or f"http://127.0.0.1:{settings.port}"
    if not settings.admin_token:
        print("error: set HEARD_ADMIN_TOKEN (the same as the server's) first", file=sys.stderr)
        return EXIT_USAGE
    request = urllib.request.Request(f"{url.rstrip('/')}/admin/reload", method="POST", data=b"",
                                     headers={"Authorization": f"Bearer {settings.admin_token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            result = json_.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code != 422:
            print(f"error: heard serve answered {exc.code}", file=sys.stderr)
            return EXIT_FAIL
        result = json_.loads(exc.read())
    except OSError as exc:
        print(f"error: no heard serve at {url} ({exc})", file=sys.stderr)
        return EXIT_FAIL
    if not result["ok"]:
        for problem in result["errors"]:
            print(problem)
        print(f"rejected; version {result['version']} stays live", file=sys.stderr)
        return EXIT_FAIL
    print(f"dialog {'reloaded' if result['changed'] else 'unchanged'}: version {result['version']}")
    return EXIT_OK


# ---------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.report_cli import run

    db = _records(args, settings)
    if db is None:
        return EXIT_FAIL
    return run(args, db, _dialog(args, settings).timezone)


# ---------------------------------------------------------------- classify


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    """One line that is not UTF-8 is reported (its number and the bad byte) and skipped;
    the rest is classified all the same, and the exit code is 1."""
    from bot.classify import classification, numbered_lines

    dialog = _dialog(args, settings)
    source: BinaryIO = sys.stdin.buffer if args.file in (None, "-") else open(args.file, "rb")  # noqa: SIM115
    count = bad = 0
    with source:
        for number, line, error in numbered_lines(source):
            if error is not None:
                bad += 1
                print(f"line {number}: skipped, {error}", file=sys.stderr, flush=True)
                continue
            count += 1
            result = classification(line, dialog)
            if args.json:
                print(json.dumps(result, ensure_ascii=False))
            else:
                print(_classify_line(result))
            if count % 5000 == 0:
                print(f"classified {count} lines", file=sys.stderr, flush=True)
    if count >= 5000 or bad:
        print(f"classified {count} lines" + (f", skipped {bad} that are not UTF-8" if bad else ""),
              file=sys.stderr)
    return EXIT_FAIL if bad else EXIT_OK


def _classify_line(r: dict[str, object]) -> str:
    signals = ",".join(
        f"{s['name']}({'/'.join(s['words'])})" for s in r["signals"]  # type: ignore[attr-defined]
    )
    flag = "ESCALATE" if r["escalate"] else "-"
    category = f"{r['category'] or '-'}/{r['situation'] or '-'}"
    return (f"{r['locale'] or '-':6} {category:28} {r['act']:10} {r['severity']:8} "
            f"risk={r['risk']:<4} {flag:8} {signals or '-'}  | {r['text']}")


# ---------------------------------------------------------------- eval


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.understanding.evaluation import LabelError, evaluate, holdout, read_rows, report

    dialog = _dialog(args, settings)
    if not args.files and not args.holdout:
        print("error: give a labelled TSV file, or --holdout", file=sys.stderr)
        return EXIT_USAGE
    results = {}
    for name in args.files:
        try:
            with open(name, "rb") as handle:
                kind, rows = read_rows(_utf8_lines(handle))
            if not rows:
                raise LabelError("no labelled messages in it")
        except LabelError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return EXIT_FAIL
        results[name] = evaluate(kind, rows, dialog)
    if args.holdout:
        results["held-out fifth of the dialog's examples"] = holdout(dialog)
    if args.json:
        print(json.dumps({k: v.as_dict() for k, v in results.items()}, ensure_ascii=False,
                         indent=2))
        return EXIT_OK
    for name, figures in results.items():
        print(f"== {name}")
        for line in report(figures, args.misses):
            print(line)
    return EXIT_OK


def _utf8_lines(source: BinaryIO) -> Iterator[str]:
    """A labelled file's lines; one that is not UTF-8 stops the scoring with its number
    (figures from a partly read file would mislead)."""
    from bot.classify import numbered_lines
    from bot.understanding.evaluation import LabelError

    for number, line, error in numbered_lines(source):
        if error is not None:
            raise LabelError(f"line {number}: {error}")
        yield line


# ---------------------------------------------------------------- stories


def cmd_test_stories(args: argparse.Namespace, settings: Settings) -> int:
    from bot.stories import StoryError, load_stories, run_stories

    dialog = _dialog(args, settings)
    try:
        stories = load_stories(args.paths)
    except StoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not stories:
        print("error: no stories found in " + " ".join(args.paths), file=sys.stderr)
        return EXIT_USAGE
    report = run_stories(stories, dialog)
    for failure in report.failures:
        print(failure)
    print(f"{report.passed} passed, {report.failed} failed")
    return EXIT_FAIL if report.failed else EXIT_OK


# ---------------------------------------------------------------- validate / lint


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from dialogs.loader import validate

    path = Path(args.file) if args.file else settings.dialog_path
    problems = validate(path)
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_FAIL
    print(f"{path}: ok")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    from dialogs.lint import lint

    path = Path(args.file) if args.file else settings.dialog_path
    problems = lint(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return EXIT_FAIL
    print(f"{path}: ok")
    return EXIT_OK


# ---------------------------------------------------------------- cases


def cmd_cases(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from bot.records import export_cases, list_cases, show_case

    db = _records(args, settings)
    if db is None:
        return EXIT_FAIL
    tz = ZoneInfo(_dialog(args, settings).timezone)         # times are the team's
    if args.action == "search":
        if not args.number:
            print("error: heard cases search WORDS (a case or order number, a name, words)",
                  file=sys.stderr)
            return EXIT_USAGE
        from bot.search_cli import search_cases
        return search_cases(db, args.number, sys.stdout, sys.stderr, limit=args.limit or 20)
    if args.action == "show":
        if len(args.number) != 1:
            print("error: heard cases show NUMBER", file=sys.stderr)
            return EXIT_USAGE
        return show_case(db, args.number[0], sys.stdout, tz)
    if args.action == "export":
        out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
        try:
            return export_cases(db, out, tz)
        finally:
            if args.out:
                out.close()
    return list_cases(db, sys.stdout, stage=args.stage, category=args.category,
                      severity=args.severity, label=args.label, limit=args.limit or 50, tz=tz)


# ---------------------------------------------------------------- parser


Command = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heard",
        description="Heard: a support bot that handles customer complaints well.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Command, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    p = add("chat", cmd_chat, "Chat with the bot as a customer in the terminal (in a sandbox: "
            "never in the queue or the reports).")
    p.add_argument("--locale", choices=("zh-TW", "zh-CN", "en"),
                   help="the customer's language hint (default: detected from what you type)")
    p.add_argument("--db", help="SQLite file for the records (default: HEARD_DB); the chat "
                   "uses sandbox.db beside it unless --real")
    p.add_argument("--real", action="store_true",
                   help="keep the chat in the real records (it then reaches the queue and "
                        "the reports)")
    p.add_argument("--dialog", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("serve", cmd_serve,
            "Run the server: web chat on /, LINE and Telegram webhooks, /healthz, /metrics.")
    p.add_argument("--host", help="address to listen on (default: HEARD_HOST)")
    p.add_argument("--port", type=int, help="port (default: HEARD_PORT)")
    p.add_argument("--db", help="the records: a SQLite file or a postgresql:// URL (default: HEARD_DB)")
    p.add_argument("--dialog", help="dialog file (default: HEARD_DIALOG or the shipped one)")
    p.add_argument("--telegram-polling", action="store_true",
                   help="fetch Telegram updates by long polling (no public URL needed)")
    p.add_argument("--workers", type=int,
                   help="processes to use (default: HEARD_WORKERS or the number of cores; "
                        "1: everything in one process)")

    p = add("migrate", cmd_migrate, "Create or upgrade the records' schema, then exit (safe to "
            "run from every worker at once; `heard serve` does it too).")
    p.add_argument("--db", help="the records: a SQLite file or a postgresql:// URL (default: HEARD_DB)")

    p = add("telegram", cmd_telegram, "Register (or remove) the Telegram webhook.")
    p.add_argument("action", choices=("set-webhook", "delete-webhook"))
    p.add_argument("url", nargs="?", help="public https URL ending in /webhooks/telegram")

    p = add("agents", cmd_agents, "Console accounts: list, add (a new username only), "
            "passwd, disable, enable, remove.")
    from bot.agents_cli import add_arguments

    add_arguments(p)

    p = add("reload", cmd_reload, "Tell a running heard serve to load the dialog file again.")
    p.add_argument("--url", help="the server (default: http://127.0.0.1:HEARD_PORT)")

    p = add("report", cmd_report, "Figures for admins: volume, first response, resolution, "
            "escalations, secondary complaints, commitments, CSAT, follow-ups; per agent and "
            "the trend.")
    from bot.report_cli import add_arguments as report_arguments

    report_arguments(p)

    p = add("classify", cmd_classify,
            "Classify messages, one per line: locale, category, severity, risk and signals.")
    p.add_argument("file", nargs="?", default="-", help="a file of messages, or - for stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.add_argument("--dialog", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("eval", cmd_eval,
            "Score understanding on a labelled TSV file: category accuracy, escalation recall, "
            "false escalation (or act accuracy), with the misses.")
    p.add_argument("files", nargs="*", help="labelled TSV files (text, categories, escalate; "
                   "or text, stage, act)")
    p.add_argument("--holdout", action="store_true",
                   help="also train without a fifth of the dialog's own examples and score them")
    p.add_argument("--misses", type=int, default=20, help="show at most this many misses")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--dialog", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("test-stories", cmd_test_stories,
            "Run conversation story files; ends with 'N passed, N failed'.")
    p.add_argument("paths", nargs="+", help="story files or folders")
    p.add_argument("--dialog", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("validate", cmd_validate, "Check a dialog file's structure; prints file:path: reason.")
    p.add_argument("file", nargs="?", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("lint", cmd_lint, "Check a dialog file's texts for complaint-handling mistakes.")
    p.add_argument("file", nargs="?", help="dialog file (default: HEARD_DIALOG or the shipped one)")

    p = add("cases", cmd_cases, "List, show, search or export complaint records.")
    p.add_argument("action", nargs="?", choices=("list", "show", "search", "export"),
                   default="list")
    p.add_argument("number", nargs="*", metavar="NUMBER|WORDS",
                   help="case number, for show; words to find, for search (every word must "
                        "occur: the conversation, case number, customer's name, order number)")
    p.add_argument("--db", help="a SQLite file or a postgresql:// URL (default: HEARD_DB)")
    p.add_argument("--stage", help="only cases in this stage")
    p.add_argument("--category", help="only cases of this category")
    p.add_argument("--severity", help="only cases of this severity")
    p.add_argument("--label", help="only cases with this label (a dialog label's id or a free label)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many (default 50; 20 for search, at most 100)")
    p.add_argument("--out", help="for export: write the CSV here instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from bot.config import SettingsError
    from bot.logs import configure_logging

    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    configure_logging(settings.log_level)
    from bot.logs import register_secret

    for secret in settings.secrets():
        register_secret(secret)
    from bot.understanding import use_folder

    use_folder(settings.model_dir)
    try:
        return int(args.func(args, settings))
    except DialogError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    except RecordsError as exc:       # e.g. PostgreSQL unreachable, records from a newer Heard
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
