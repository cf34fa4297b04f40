"""What the agent console shows of a case, as JSON: the queue's summary and the case
view (with the remedies the case would be offered, filled in), and reading an action's
arguments from a request. Pure: no requests, no store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import agents
from bot.case import CaseState
from bot.remedies import fill, remedies_for
from bot.replies import format_time
from dialogs.model import Dialog


def summary(case: CaseState) -> dict[str, Any]:
    return {
        "number": case.number, "stage": case.stage, "owner": case.owner,
        "severity": case.severity, "category": case.category, "channel": case.channel,
        "customer": case.customer_name, "summary": case.summary or " / ".join(case.account)[:200],
        "waiting_since": (case.handoff_at or case.received_at).isoformat(),
        "due": case.first_response_due.isoformat(), "sla_breached": case.sla_breached,
        "risk": case.risk, "signals": sorted(case.signal_names()), "locale": case.locale,
        "labels": case.labels,
    }


def detail(found: dict[str, Any], dialog: Dialog, agent_name: str,
           now: datetime) -> dict[str, Any]:
    case: CaseState = found["case"]
    offered = [{"id": remedy.id,
                "label": fill(remedy.label.get(case.locale), case, dialog),
                "offer": fill(remedy.offer.get(case.locale), case, dialog),
                "commitment": fill(remedy.commitment.get(case.locale), case, dialog),
                "chosen": remedy.id == case.remedy_id}
               for remedy in remedies_for(case, dialog)]     # the situation's own, if any
    notes = [{"agent": e["data"].get("agent"), "text": e["data"].get("text"), "at": e["at"]}
             for e in found["events"] if e["kind"] == "note"]
    history = [{"kind": e["kind"], "data": e["data"], "at": e["at"]} for e in found["events"]
               if e["kind"] != "note"]
    return {
        **summary(case),
        "category_words": case.category_words,
        "situation": case.situation,
        "situation_name": _situation_name(dialog, case),
        "explanation": next((e["data"].get("explanation", {}) for e in reversed(found["events"])
                             if e["kind"] == "classified"), {}),
        "signal_hits": [s.as_dict() for s in case.signals],
        "account": case.account, "details": case.details,
        "remedies": offered, "remedy_id": case.remedy_id, "commitment": case.commitment,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "due_text": format_time(dialog, case.due_at, case.locale) if case.due_at else None,
        "followup_at": case.followup_at.isoformat() if case.followup_at else None,
        "messages": transcript(found, case),
        "customer_key": case.conversation_key,
        "notes": notes, "history": history, "earlier": found["earlier"],
        "canned": agents.canned_replies(case, agent_name, dialog),
        "hand_back": agents.hand_back_choices(case, now),
    }


def transcript(found: dict[str, Any], case: CaseState) -> list[dict[str, Any]]:
    """The case's messages, each naming who wrote it: the customer, the bot or the agent.
    An agent's reply is stored as a message and an `agent_reply` event in one step, in
    the same order, so the n-th agent message is the n-th reply event's agent's words."""
    names: dict[str, str] = found.get("agent_names", {})
    repliers = iter([e["data"].get("agent") for e in found["events"]
                     if e["kind"] == "agent_reply"])
    out = []
    for m in found["messages"]:
        author, by = ("customer", case.customer_name) if m["direction"] == "in" else ("bot", None)
        if m["direction"] == "out" and m["kind"] == "agent":
            username = next(repliers, None)
            author, by = "agent", names.get(username or "", username)
        out.append({"from": author, "by": by, "text": m["text"] or "",
                    "pressed": m["payload"], "at": m["at"],
                    "attachments": m.get("attachments", [])})
    return out


def action_args(action: str, data: dict[str, Any]) -> dict[str, Any]:
    if action == "reply":
        return {"text": str(data.get("text", ""))}
    if action == "note":
        return {"text": str(data.get("text", ""))}
    if action in ("label", "unlabel"):
        return {"text": str(data.get("label", ""))}
    if action == "transfer":
        return {"to_agent": str(data.get("to", ""))}
    if action == "hand_back":
        return {"then": str(data["then"]) if data.get("then") else None}
    if action == "commit":
        due = datetime.fromisoformat(str(data.get("due_at", "")))
        if due.tzinfo is None:
            raise ValueError("due_at needs a time zone, e.g. 2026-11-24T18:00+08:00")
        return {"commitment": str(data.get("commitment", "")), "due_at": due,
                "remedy_id": data.get("remedy_id") or None}
    return {}


def _situation_name(dialog: Dialog, case: CaseState) -> str | None:
    category = dialog.categories.get(case.category or "")
    situation = category.situations.get(case.situation or "") if category else None
    return situation.name.get(case.locale) if situation else None
