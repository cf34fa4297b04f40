"""`heard agents list|add|passwd|disable|enable|remove`: the bodies behind bot/cli.py.

The rules live in bot/agent_admin.py (the console's admin page uses the same); here they
become one clear line and an exit code.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot import agent_admin
from bot.accounts import hash_password
from bot.agent_admin import AccountError
from storage.store import Store

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
ACTIONS = ("list", "add", "passwd", "disable", "enable", "remove")


def run(args: argparse.Namespace, db: str | Path, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.action != "list" and not args.username:
        print(f"error: heard agents {args.action} USERNAME", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "remove" and args.reassign_to and args.to_team:
        print("error: choose --reassign-to USERNAME or --to-team, not both", file=sys.stderr)
        return EXIT_USAGE
    store = Store.open(db)
    try:
        if args.action == "list":
            return _list(store, out)
        password_hash: str | None = ""
        if args.action in ("add", "passwd"):
            _before_asking(store, args)
            password_hash = _new_password(args)
        if password_hash is None:
            return EXIT_FAIL
        with store.transaction():
            message = ACTS[args.action](store, args, password_hash)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    print(message, file=out)
    return EXIT_OK


def _before_asking(store: Store, args: argparse.Namespace) -> None:
    """Refuse a taken (or unknown) username before anyone types a password for it; the
    rules are checked again, in the transaction, when the change is made."""
    if args.action == "add":
        agent_admin.check_new(store, args.username, args.role)
    else:
        agent_admin.existing(store, args.username)


def _new_password(args: argparse.Namespace) -> str | None:
    """The new password, hashed; None (with the reason said) if it can't be used."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if password != getpass.getpass("again: "):
            print("error: the passwords differ; nothing was changed", file=sys.stderr)
            return None
    try:
        return hash_password(password)
    except ValueError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return None


def _list(store: Store, out: TextIO) -> int:
    rows = agent_admin.account_rows(store)
    for row in rows:
        state = "" if row["active"] else "disabled"
        print(f"{row['username']:20} {row['role']:11} {state:9} {row['open_cases']:3} open  "
              f"{row['name']}", file=out)
    if not rows:
        print("no agents yet: heard agents add USERNAME", file=out)
    return EXIT_OK


def _add(store: Store, args: argparse.Namespace, password_hash: str) -> str:
    agent_admin.add_account(store, args.username, args.name or args.username, password_hash,
                            args.role, _now())
    return f"{args.role} {args.username} can sign in at /console"


def _passwd(store: Store, args: argparse.Namespace, password_hash: str) -> str:
    agent_admin.change_password(store, args.username, password_hash)
    return f"{args.username}'s password changed; their open sessions were signed out"


def _disable(store: Store, args: argparse.Namespace, _: str) -> str:
    agent_admin.disable(store, args.username, _now())
    return (f"{args.username} is disabled: signed out everywhere and can't sign in; "
            "their cases and history stay")


def _enable(store: Store, args: argparse.Namespace, _: str) -> str:
    agent_admin.enable(store, args.username, _now())
    return f"{args.username} can sign in again"


def _remove(store: Store, args: argparse.Namespace, _: str) -> str:
    moved = agent_admin.remove(store, args.username, _now(), reassign_to=args.reassign_to,
                               to_team=args.to_team)
    where = args.reassign_to or "the team's queue"
    return (f"{args.username} was removed; their history stays"
            + (f"; {len(moved)} open case(s) went to {where}" if moved else ""))


def _now() -> datetime:
    return datetime.now(UTC)


ACTS: dict[str, Callable[[Store, argparse.Namespace, str], str]] = {
    "add": _add, "passwd": _passwd, "disable": _disable, "enable": _enable, "remove": _remove,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("username", nargs="?", help="the sign-in name (every action but list)")
    p.add_argument("--name", help="for add: the name customers and colleagues see")
    p.add_argument("--role", default="agent", help="for add: agent (default), supervisor or admin")
    p.add_argument("--password-stdin", action="store_true",
                   help="for add and passwd: read the password from standard input instead "
                        "of asking twice")
    p.add_argument("--reassign-to", metavar="USERNAME",
                   help="for remove: give their open cases to this colleague")
    p.add_argument("--to-team", action="store_true",
                   help="for remove: send their open cases back to the team's queue")
    p.add_argument("--db", help="SQLite file (default: HEARD_DB)")
