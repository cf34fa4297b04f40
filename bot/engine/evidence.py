"""Photos and files in the story: each kept one counts as evidence on the case (the
record's `evidence` list and an `evidence` event); a refused one gets an answer saying
why and what to send instead (an `attachment_refused` event). Stickers are answered
warmly and never stored or counted.

The story itself is told by the other stages: a caption is what the customer said, and a
bare photo mid-story moves nothing on (the question asked stays asked). In `handoff` the
bot stays as quiet as ever: the agent sees the photo in the console and the desk thread.
"""

from __future__ import annotations

from bot.case import CaseState, Step
from bot.context import Context, Turn
from bot.engine.escalation import in_handoff
from bot.types import Attachment, Incoming, Outgoing

MB = 1024 * 1024
REFUSED_TEXTS = {"too_big": "file_too_big", "type": "file_type", "expired": "file_gone",
                 "unavailable": "file_gone"}


def sticker(case: CaseState | None, incoming: Incoming, ctx: Context, locale: str) -> Step:
    """A sticker: a friendly word, nothing kept, no case opened; in handoff, quiet."""
    if case is not None and case.stage == "handoff":
        return in_handoff(case, incoming, ctx, None)
    text = ctx.dialog.text("sticker", case.locale if case is not None else locale)
    return Step(case=case, outgoing=[Outgoing(text=text)])


def noted(step: Step, incoming: Incoming, ctx: Context) -> Step:
    """`step` with the attachment recorded on its case and, outside handoff, acknowledged
    right after the case's opening message (or first)."""
    attachment, case = incoming.attachment, step.case
    if attachment is None or case is None:
        return step
    turn = Turn(case, ctx, None, incoming.payload, attachment)
    record(turn, attachment)
    case.updated_at = ctx.now
    if case.stage != "handoff":
        at = 1 if step.new_case and step.outgoing else 0
        step.outgoing[at:at] = turn.step.outgoing
    step.events.extend(turn.step.events)
    return step


def record(turn: Turn, attachment: Attachment) -> None:
    """The evidence or the refusal, in the record; the words for the customer in `turn`."""
    case, dialog = turn.case, turn.dialog
    facts = {"file_kind": attachment.kind, "name": attachment.name, "size": attachment.size}
    if attachment.status == "stored":
        case.evidence.append({**facts, "sha256": attachment.sha256, "mime": attachment.mime,
                              "at": turn.ctx.now.isoformat()})
        turn.event("evidence", **facts, mime=attachment.mime, count=len(case.evidence))
        key = "photo_kept" if attachment.kind == "image" else "file_kept"
        text = dialog.text(key, case.locale, case_number=case.number)
    else:
        reason = attachment.reason or "unavailable"
        turn.event("attachment_refused", **facts, reason=reason)
        text = dialog.text(REFUSED_TEXTS.get(reason, "file_gone"), case.locale,
                           limit=size_words(attachment.limit or 0))
    turn.step.outgoing.append(Outgoing(text=text))


def size_words(size: int) -> str:
    """10 MB, 2.5 MB, 300 KB: a limit as people say it."""
    if size >= MB:
        return f"{round(size / MB, 1):g} MB"
    return f"{max(1, round(size / 1024))} KB"
