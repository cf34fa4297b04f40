"""Which two remedies a case is offered (its situation's own, else its category's), and
their texts filled in with what the customer said."""

from __future__ import annotations

import re

from bot.case import CaseState
from bot.details import Details
from bot.normalize import canonical, in_script
from dialogs.model import Dialog, Remedy


def remedies_for(case: CaseState, dialog: Dialog) -> tuple[Remedy, Remedy]:
    """The situation's remedies where it has its own, else the category's, at the case's
    severity."""
    category = dialog.categories[case.category or "other"]
    situation = category.situations.get(case.situation or "")
    if situation is not None and situation.remedies:
        return situation.remedies[case.severity]
    return category.remedies[case.severity]


# sizes as customers write them: M, XL, 2XL, 24.5 號, 38 碼, size 8, US 9
_SIZE = re.compile(
    r"(?<![A-Za-z0-9])((?:[2-5]?X{0,3}[SLM]|XXS|XS|F)(?![A-Za-z0-9])"
    r"|\d{1,2}(?:\.5)?\s?(?:號|号|碼|码|吋|寸))"
    r"|\b(?:size|us|uk|eu)\s?(\d{1,2}(?:\.5)?)\b",
    re.IGNORECASE)
# the size the customer wanted is the one named after 訂/買/要/ordered
_WANTED = re.compile(r"(?:訂|订|買|买|選|选|要|下單|下单|ordered|bought|wanted|picked|chose)"
                     r"[^，。,.!?！？]{0,6}$", re.IGNORECASE)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def fill(text: str, case: CaseState, dialog: Dialog) -> str:
    """A remedy text with what the customer said filled in: the item and its measure
    word, the size or colour they ordered (or both as `{variant}`, nothing when neither was
    said), the price difference, the order number; the dialog's `*_unknown` words where
    they did not say."""
    if "{" not in text:
        return text
    locale = case.locale
    details = Details.from_dict(case.details)
    told = " ".join(case.telling())
    plain = canonical(told)
    product = details.products[0] if details.products else None
    item = in_script(product, locale) if product else dialog.text("item_unknown", locale)
    measure = (dialog.measure_word(product, locale) if product else None) or (
        "個" if locale == "zh-TW" else "个" if locale == "zh-CN" else "")
    size = _wanted(_sizes(told), told)
    colour = _wanted(_colours(dialog.colours, plain), plain)
    difference = _difference(details.amounts)
    sized = dialog.text("size_known", locale, value=size) if size else None
    coloured = in_script(colour, locale) if colour else None
    said = [v for v in (sized, coloured) if v]
    values = {
        "item": item, "measure": measure,
        "size": sized or dialog.text("size_unknown", locale),
        "colour": dialog.text("colour_known", locale, value=coloured)
        if coloured else dialog.text("colour_unknown", locale),
        "variant": dialog.text("variant_known", locale,
                               value=(" and " if locale == "en" else "、").join(said))
        if said else "",
        "difference": dialog.text("difference_known", locale, amount=difference)
        if difference else dialog.text("difference_unknown", locale),
        "order": ", ".join(details.order_numbers),
    }
    return text.format(**values)


def _sizes(told: str) -> list[tuple[int, str]]:
    found = [(m.start(), _plain_size((m.group(1) or m.group(2) or "").strip().upper()))
             for m in _SIZE.finditer(told)]
    return [(at, size) for at, size in found if size]


def _plain_size(size: str) -> str:
    return re.sub(r"\s?(?:號|号|碼|码)$", "", size)


def _colours(words: tuple[str, ...], told: str) -> list[tuple[int, str]]:
    """Colour words where they are said; an English word only as a whole word ("red" is
    not in "ordered")."""
    found = []
    for word in words:
        if word.isascii():
            match = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", told)
            at = match.start() if match else -1
        else:
            at = told.find(word)
        if word and at >= 0:
            found.append((at, word))
    return sorted(found)


def _wanted(found: list[tuple[int, str]], told: str) -> str | None:
    """Of the sizes or colours named (with where), the one after "ordered"/"訂的"; else
    the first."""
    for at, value in found:
        if _WANTED.search(told[max(0, at - 12):at]):
            return value
    return found[0][1] if found else None


def _difference(amounts: tuple[str, ...]) -> str | None:
    """Two prices named (paid and now): the difference, as a plain number."""
    values = []
    for amount in amounts:
        match = _NUMBER.search(amount)
        if match:
            try:
                values.append(float(match.group(0).replace(",", "")))
            except ValueError:
                continue
    if len(values) < 2 or max(values) == min(values):
        return None
    gap = max(values) - min(values)
    return f"{gap:,.0f}" if gap == int(gap) else f"{gap:,.2f}"

