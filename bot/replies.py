"""Turning engine decisions into the dialog's words: texts, buttons, times.

Every text comes from the dialog file in the case's locale; nothing the customer reads is
written here. Times are shown in the dialog's time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.normalize import canonical
from bot.payloads import FOLLOWUP_PREFIX, HUMAN, NO, RATE_PREFIX, REMEDY_PREFIX, RETRY, YES
from bot.remedies import fill
from bot.restate import empathy_line, feeling, names_feeling
from bot.types import Button, Outgoing
from bot.when import deadline_text, time_text
from dialogs.model import Dialog, Remedy

if TYPE_CHECKING:
    from bot.context import Turn

TOTAL_TEXT_LIMIT = 4000
LABEL_LIMIT = 20          # LINE quick-reply labels


def say(turn: Turn, key: str, buttons: tuple[Button, ...] = (), kind: str = "reply",
        **values: object) -> None:
    text = turn.dialog.text(key, turn.case.locale, **values)
    _send(turn, text, buttons, kind)


def _send(turn: Turn, text: str, buttons: tuple[Button, ...], kind: str = "reply") -> None:
    turn.step.outgoing.append(Outgoing(text=text, buttons=buttons, kind=kind))  # type: ignore[arg-type]


def button(dialog: Dialog, key: str, locale: str, payload: str) -> Button:
    return Button(dialog.buttons[key].get(locale), payload)


def by(turn: Turn, moment: datetime) -> str:
    """A deadline as a person says it: "明天（11/25，週三）下班前", "by Wednesday 25 Nov, end of
    day"."""
    return deadline_text(turn.dialog, moment, turn.ctx.now, turn.case.locale)


def around(turn: Turn, moment: datetime) -> str:
    """A moment we will be in touch: "11/27（週五）上午 9 點左右"."""
    return time_text(turn.dialog, moment, turn.ctx.now, turn.case.locale)


def team_name(dialog: Dialog, locale: str) -> str:
    return dialog.team.name.get(locale) if dialog.team else ""


def format_time(dialog: Dialog, moment: datetime, locale: str) -> str:
    """A date and time for staff (console, exports): exact, in the dialog's time zone."""
    local = moment.astimezone(ZoneInfo(dialog.timezone))
    return dialog.text("datetime", locale, month=local.month, day=local.day,
                       hour=f"{local.hour:02d}", minute=f"{local.minute:02d}")


def restatement(turn: Turn, accused: bool, lead: str = "", offer_person: bool = False) -> None:
    """Empathise specifically, restate (`case.summary`), ask "did I get that right?" (yes
    / not quite). An `accused` summary ends with the customer's doubt, so no feeling is
    named after it. `lead` acknowledges what the customer just added; after
    misunderstandings a person is offered too."""
    case, dialog, locale = turn.case, turn.dialog, turn.case.locale
    text = " ".join(case.telling())
    category = case.category or "other"
    empathy = "" if lead else empathy_line(category, canonical(text), locale, dialog,
                                           case.situation)
    if accused:
        said = dialog.text("restate_accused", locale, empathy=empathy, summary=case.summary or "")
    else:
        felt = feeling(category, case.signals, locale, dialog, case.situation)
        said = (dialog.text("restate_named", locale, empathy=empathy, summary=case.summary or "")
                if names_feeling(empathy, felt) and "restate_named" in dialog.texts else
                dialog.text("restate", locale, empathy=empathy, summary=case.summary or "",
                            feeling=felt))
    text = lead + said.lstrip()
    wants_order = dialog.categories[category].wants_order_number
    if wants_order and not case.details.get("order_numbers"):
        text += dialog.text("ask_order", locale)
    buttons = [button(dialog, "yes", locale, YES), button(dialog, "not_quite", locale, NO)]
    if offer_person:
        text += dialog.text("restate_person", locale)
        buttons.append(button(dialog, "human", locale, HUMAN))
    _send(turn, _clip(text), tuple(buttons))


def remedy_buttons(turn: Turn, first: Remedy, second: Remedy) -> tuple[Button, ...]:
    locale = turn.case.locale
    return (
        Button(fill(first.label.get(locale), turn.case, turn.dialog)[:LABEL_LIMIT],
               REMEDY_PREFIX + first.id),
        Button(fill(second.label.get(locale), turn.case, turn.dialog)[:LABEL_LIMIT],
               REMEDY_PREFIX + second.id),
        button(turn.dialog, "human", locale, HUMAN),
    )


def offer(turn: Turn, key: str, first: Remedy, second: Remedy, kind: str = "reply") -> None:
    locale = turn.case.locale
    say(turn, key, buttons=remedy_buttons(turn, first, second), kind=kind,
        remedy_1=fill(first.offer.get(locale), turn.case, turn.dialog),
        remedy_2=fill(second.offer.get(locale), turn.case, turn.dialog))


def person_buttons(turn: Turn) -> tuple[Button, ...]:
    locale = turn.case.locale
    return (button(turn.dialog, "human", locale, HUMAN),
            button(turn.dialog, "try_again", locale, RETRY))


def rating_buttons() -> tuple[Button, ...]:
    return tuple(Button(str(n), f"{RATE_PREFIX}{n}") for n in range(1, 6))


def committed(turn: Turn) -> None:
    case = turn.case
    assert case.due_at is not None
    due = by(turn, case.due_at)
    if case.followup_at is None:
        say(turn, "committed_no_followup", commitment=case.commitment or "", due=due,
            case_number=case.number)
        return
    say(turn, "committed", commitment=case.commitment or "", due=due,
        followup=around(turn, case.followup_at), case_number=case.number)


def progress(turn: Turn) -> None:
    case = turn.case
    due = by(turn, case.due_at) if case.due_at else "-"
    say(turn, "progress", case_number=case.number, commitment=case.commitment or "", due=due)


def noted(turn: Turn) -> None:
    """New facts for a case with a commitment: recorded, and where things stand."""
    case = turn.case
    due = by(turn, case.due_at) if case.due_at else "-"
    say(turn, "noted", case_number=case.number, commitment=case.commitment or "", due=due)


def waiting(turn: Turn) -> None:
    """In handoff: the customer's message is passed on; when a person will answer."""
    case = turn.case
    team = team_name(turn.dialog, case.locale)
    if case.owner == "team":
        say(turn, "handoff_waiting", case_number=case.number, team=team,
            due=by(turn, case.first_response_due))
    else:
        say(turn, "handoff_waiting_claimed", case_number=case.number, team=team)


def followup(turn: Turn) -> None:
    case, dialog, locale = turn.case, turn.dialog, turn.case.locale
    buttons = tuple(
        button(dialog, name, locale, FOLLOWUP_PREFIX + name)
        for name in ("resolved", "partly", "not_solved")
    )
    say(turn, "followup", buttons=buttons, kind="push", case_number=case.number,
        commitment=case.commitment or "", summary=case.summary or "")


def _clip(text: str) -> str:
    return text if len(text) <= TOTAL_TEXT_LIMIT else text[: TOTAL_TEXT_LIMIT - 1] + "…"

