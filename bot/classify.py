"""One message judged on its own, with every decision explained (`heard classify`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bot.details import mask_pii
from bot.signals import risk_of
from bot.understanding import explain_category, severity_for, understand
from dialogs.model import Dialog


def classification(text: str, dialog: Dialog) -> dict[str, Any]:
    """What the engine would conclude from this message if it opened a case.

    Phone numbers and e-mail addresses are masked: this output gets pasted around.
    """
    u = understand(text, dialog)
    risk = round(risk_of(u.signals), 2)
    names = {s.name for s in u.signals}
    escalate = risk >= dialog.risk_threshold or "safety" in names or u.category == "safety"
    explanation = explain_category(u.canonical, u.decision, dialog, u)
    details = u.details.as_dict()
    details["phones"] = [mask_pii(p) for p in details.get("phones", [])]
    details["emails"] = [mask_pii(e) for e in details.get("emails", [])]
    return {
        "text": mask_pii(text),
        "locale": u.locale or dialog.default_locale,
        "category": u.category,
        "situation": u.decision.situation,
        "confidence": round(u.decision.confidence, 3),
        "category_words": list(u.category_words) or [f["feature"] for f in
                                                     explanation.get("features", ())],
        "explanation": explanation,
        "act": u.act.act,
        "act_confidence": round(u.act.confidence, 3),
        "act_by": u.act.by,
        "severity": severity_for(u.category, u.signals, dialog),
        "risk": risk,
        "escalate": escalate,
        "signals": [s.as_dict() for s in u.signals],
        "details": details,
    }


def numbered_lines(source: Iterable[bytes]) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, None), or (line number, "", why) for a line that is not UTF-8:
    one bad line is reported, never the end of the file. A leading BOM is dropped."""
    for number, raw in enumerate(source, start=1):
        data = raw.rstrip(b"\r\n")
        if number == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            yield number, data.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            yield number, "", (f"not UTF-8 (byte 0x{data[exc.start]:02x} at column "
                               f"{exc.start + 1})")
