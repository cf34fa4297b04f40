"""Looking after agent accounts (`heard agents`, the console's admin page): one set of rules
for both.

- a username is given once: adding an existing one is refused, never an overwrite;
- disabling ends the account's sessions at once and keeps its history;
- removing is refused while the person owns open cases, unless they are reassigned to a
  colleague or go back to the team's queue; the history keeps naming them;
- an admin can't disable or remove themselves, and the last admin stays.

Each function runs on a `Store` inside the caller's transaction and raises `AccountError`
with a sentence a person can act on. Passwords arrive hashed (hashing is slow on purpose
and runs before the transaction).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.accounts import ROLES
from bot.case import CaseState
from storage.store import Store

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class AccountError(Exception):
    """An account change that can't be made; the message says why."""


def existing(store: Store, username: str) -> dict[str, Any]:
    """The account by this name, unless there is none or it was removed (raised)."""
    found = store.account(username)
    if found is None or found["removed_at"]:
        raise AccountError(f"there is no agent {username!r} (heard agents list shows them)")
    return found


def check_new(store: Store, username: str, role: str) -> None:
    """Why this account can't be added (raised), before anyone types its password."""
    if not USERNAME.fullmatch(username):
        raise AccountError("usernames are 1-40 letters, digits, dots, dashes or underscores, "
                           "starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    found = store.account(username)
    if found is not None:
        if found["removed_at"]:
            raise AccountError(f"{username!r} belonged to an agent who was removed; their "
                               "cases still name them, so choose another username")
        raise AccountError(f"{username!r} already exists; to change their password use "
                           f"`heard agents passwd {username}`")


def add_account(store: Store, username: str, display_name: str, password_hash: str,
                role: str, at: datetime) -> None:
    check_new(store, username, role)
    store.create_agent(username, display_name.strip() or username, password_hash, role, at)


def change_password(store: Store, username: str, password_hash: str) -> None:
    existing(store, username)
    store.set_password(username, password_hash)


def disable(store: Store, username: str, at: datetime, by: str | None = None) -> None:
    found = existing(store, username)
    if not found["active"]:
        raise AccountError(f"{username} is already disabled")
    _keep_an_admin(store, found, by, "disable")
    store.set_active(username, False, at)


def enable(store: Store, username: str, at: datetime) -> None:
    found = existing(store, username)
    if found["active"]:
        raise AccountError(f"{username} is already enabled")
    store.set_active(username, True, at)


def remove(store: Store, username: str, at: datetime, *, by: str | None = None,
           reassign_to: str | None = None, to_team: bool = False) -> list[str]:
    """Remove the account; returns the open cases that moved (to `reassign_to` or the
    team's queue)."""
    found = existing(store, username)
    _keep_an_admin(store, found, by, "remove")
    open_cases = store.open_cases_of(username)
    if open_cases and not (reassign_to or to_team):
        shown = ", ".join(open_cases[:5]) + (" …" if len(open_cases) > 5 else "")
        raise AccountError(f"{username} owns {len(open_cases)} open case(s) ({shown}); "
                           "reassign them to a colleague or send them back to the team's "
                           "queue first")
    if reassign_to is not None:
        target = existing(store, reassign_to)
        if reassign_to == username:
            raise AccountError("reassign the cases to somebody else")
        if not target["active"]:
            raise AccountError(f"{reassign_to} is disabled; choose an active colleague")
    for number in open_cases:
        _reassign(store, number, username, reassign_to, by, at)
    store.mark_removed(username, at)
    return open_cases


def _reassign(store: Store, number: str, holder: str, to: str | None, by: str | None,
              at: datetime) -> None:
    case: CaseState | None = store.case_for_change(number)
    if case is None:
        return
    case.owner = f"agent:{to}" if to else "team"
    case.updated_at = at
    store.save_case(case)
    store.add_event(number, "reassigned", {"agent": by, "from": holder, "to": to or "team",
                                           "why": "account removed"}, at)


def _keep_an_admin(store: Store, found: dict[str, Any], by: str | None, doing: str) -> None:
    if by is not None and by == found["username"]:
        raise AccountError(f"you can't {doing} your own account; ask another admin")
    if found["role"] == "admin" and found["active"] and store.active_admins() == [
            found["username"]]:
        raise AccountError(f"{found['username']} is the last admin; make another admin "
                           f"before you {doing} this one")


def account_rows(store: Store) -> list[dict[str, Any]]:
    """Every account not removed, with its state and its open cases (for people)."""
    return [{"username": a["username"], "name": a["display_name"], "role": a["role"],
             "active": bool(a["active"]), "disabled_at": a["disabled_at"],
             "open_cases": len(store.open_cases_of(a["username"]))}
            for a in store.accounts()]
