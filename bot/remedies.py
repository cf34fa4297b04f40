"""Which two remedies a case is offered: its situation's own, else its category's."""

from __future__ import annotations

from bot.case import CaseState
from dialogs.model import Dialog, Remedy


def remedies_for(case: CaseState, dialog: Dialog) -> tuple[Remedy, Remedy]:
    """The situation's remedies where it has its own, else the category's, at the case's
    severity."""
    category = dialog.categories[case.category or "other"]
    situation = category.situations.get(case.situation or "")
    if situation is not None and situation.remedies:
        return situation.remedies[case.severity]
    return category.remedies[case.severity]
