"""Labels on cases: the dialog's list (clear errors), free labels, adding and removing
(case events with the agent), the queue filter, the CSV export and the report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console_find import label_list
from bot.agents import ActionError
from bot.context import Context
from bot.labels import MAX_PER_CASE, label, label_for, unlabel
from bot.records import list_cases
from bot.reports import build_report
from dialogs.model import Dialog
from storage.store import Store
from tests.channels import serving
from tests.test_console import add_agent, escalate, sign_in
from tests.test_dialog_files import _set, copy_with, problems_of
from tests.test_search import NOW, say


def ctx(dialog: Dialog) -> Context:
    return Context(dialog=dialog, now=NOW, new_case_number=lambda: "unused")


@pytest.fixture
def store(dialog: Dialog) -> Store:
    store = Store.open(":memory:")
    say(store, dialog, "耳機右邊沒有聲音，想要退款", user="U1", event="e1")
    say(store, dialog, "包裹等了一個禮拜還沒到", user="U2", event="e2",
        at=NOW + timedelta(hours=1))
    return store


def put(store: Store, dialog: Dialog, number: str, text: str, remove: bool = False) -> None:
    case = store.get_case(number)
    assert case is not None
    step = (unlabel if remove else label)(case, "amy", text, ctx(dialog))
    with store.transaction():
        store.apply(step, None, NOW)


@pytest.mark.parametrize(("typed", "kept"), [
    ("refund", "refund"), ("退款", "refund"), ("Refund", "refund"), (" REFUND ", "refund"),
    ("物流问题", "logistics"),                       # the zh-CN name
    ("  第二次   客訴 ", "第二次 客訴"),             # a free label, tidied
    ("VIP 客人", "VIP 客人"),
])
def test_a_typed_label_is_the_dialog_label_it_names_or_a_tidy_free_label(
        dialog: Dialog, typed: str, kept: str) -> None:
    assert label_for(typed, dialog.labels) == kept


@pytest.mark.parametrize(("typed", "reason"), [
    ("", "empty"), ("   ", "empty"), ("字" * 21, "at most 20"),
    ("退款\x1b[2J", "control characters"), ("vip\u202e", "control characters"),
])
def test_a_label_that_cannot_be_kept_says_why(dialog: Dialog, typed: str, reason: str) -> None:
    with pytest.raises(ActionError, match=reason):
        label_for(typed, dialog.labels)


def test_labels_are_added_and_removed_as_case_events_with_the_agent(
        store: Store, dialog: Dialog) -> None:
    number = "2026CS000001"
    put(store, dialog, number, "退款")
    put(store, dialog, number, "待確認發票")
    case = store.get_case(number)
    assert case is not None and case.labels == ["refund", "待確認發票"]
    with pytest.raises(ActionError, match="already has the label refund"):
        label(case, "amy", "Refund", ctx(dialog))
    put(store, dialog, number, "refund", remove=True)
    case = store.get_case(number)
    assert case is not None and case.labels == ["待確認發票"]
    with pytest.raises(ActionError, match="has no label refund"):
        unlabel(case, "amy", "退款", ctx(dialog))
    kinds = [(e["kind"], e["data"]) for e in store.events(number)
             if e["kind"] in ("labelled", "unlabelled")]
    assert kinds == [("labelled", {"agent": "amy", "label": "refund"}),
                     ("labelled", {"agent": "amy", "label": "待確認發票"}),
                     ("unlabelled", {"agent": "amy", "label": "refund"})]


def test_a_case_holds_a_limited_number_of_labels(store: Store, dialog: Dialog) -> None:
    for n in range(MAX_PER_CASE):
        put(store, dialog, "2026CS000001", f"標籤{n}")
    case = store.get_case("2026CS000001")
    assert case is not None
    with pytest.raises(ActionError, match="remove one first"):
        label(case, "amy", "再一個", ctx(dialog))


def test_filter_export_report_and_the_list_of_labels(tmp_path: Path, dialog: Dialog) -> None:
    path = tmp_path / "records.db"
    store = Store.open(path)
    say(store, dialog, "耳機右邊沒有聲音，想要退款", user="U1", event="e1")
    say(store, dialog, "包裹等了一個禮拜還沒到", user="U2", event="e2",
        at=NOW + timedelta(hours=1))
    put(store, dialog, "2026CS000001", "退款")
    put(store, dialog, "2026CS000001", "=HYPERLINK(1)")
    put(store, dialog, "2026CS000002", "退款")
    assert [c.number for c in store.list_cases(label="refund")] == ["2026CS000002", "2026CS000001"]
    assert [c.number for c in store.list_cases(label="=HYPERLINK(1)")] == ["2026CS000001"]
    assert store.list_cases(label="vip") == []
    out = io.StringIO()
    assert list_cases(path, out, label="=HYPERLINK(1)") == 0            # heard cases --label
    assert "2026CS000001" in out.getvalue() and "2026CS000002" not in out.getvalue()

    out = io.StringIO()
    store.export_cases_csv(out)
    rows = {r["number"]: r["labels"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows == {"2026CS000001": '["refund", "=HYPERLINK(1)"]', "2026CS000002": '["refund"]'}

    report = build_report(store, NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert report.by_label == {"refund": 2, "=HYPERLINK(1)": 1}
    assert ("label", "refund", 2) in report.rows()

    listed = label_list(dialog, store.labels_in_use())
    assert [x["id"] for x in listed][:5] == list(dialog.labels)   # the dialog's, in file order
    refund = next(x for x in listed if x["id"] == "refund")
    assert (refund["name"], refund["cases"], refund["colour"]) == ("退款", 2, "#b03a2e")
    assert listed[-1] == {"id": "=HYPERLINK(1)", "name": "=HYPERLINK(1)", "names": {},
                          "colour": None, "cases": 1, "free": True}


@pytest.mark.parametrize(("where", "value", "path", "reason"), [
    ("labels.Refund", {"name": {"zh-TW": "退", "zh-CN": "退", "en": "R"}}, "labels.Refund",
     "lowercase letters"),
    ("labels.refund.colour", "red", "labels.refund.colour", "a colour like '#c0392b'"),
    ("labels.refund.name.en", "A refund was promised to this customer", "labels.refund.name.en",
     "at most 20"),
    ("labels.refund.name", {"zh-TW": "退款", "zh-CN": "退款"}, "labels.refund.name.en", "missing"),
    ("labels.refund.size", 3, "labels.refund.size", "unknown key"),
    ("labels.exchange.name.zh-TW", "退款", "labels.refund.name.zh-TW",   # (the copy sorts keys)
     "the same name as label exchange"),
    ("labels", ["refund"], "labels", "must be a mapping"),
])
def test_label_mistakes_in_the_dialog_are_reported_with_their_path(
        tmp_path: Path, where: str, value: Any, path: str, reason: str) -> None:
    edited = copy_with(tmp_path, lambda d: _set(d, where, value))
    found = problems_of(edited)
    assert any(p.startswith(f"{edited}:{path}") and reason in p for p in found), found


async def test_labels_over_the_console_api(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with serving(db) as s:
        add_agent(db, "amy")
        number = await escalate(s, 1)
        http, csrf = await sign_in(s, "amy")
        headers = {"X-CSRF-Token": csrf}
        base = f"{s.url}/console/api"
        try:
            async with http.post(f"{base}/cases/{number}/label", json={"label": "物流問題"},
                                 headers=headers) as r:
                assert r.status == 200 and (await r.json())["labels"] == ["logistics"]
            async with http.post(f"{base}/cases/{number}/label", json={"label": " "},
                                 headers=headers) as r:
                assert r.status == 409 and "empty" in (await r.json())["error"]
            async with http.get(f"{base}/cases", params={"label": "logistics"},
                                headers=headers) as r:
                assert [c["number"] for c in await r.json()] == [number]
            async with http.get(f"{base}/cases", params={"label": "vip"}, headers=headers) as r:
                assert await r.json() == []
            async with http.get(f"{base}/labels", headers=headers) as r:
                labels = (await r.json())["labels"]
                assert next(x for x in labels if x["id"] == "logistics")["cases"] == 1
            async with http.get(f"{base}/labels") as r:
                assert r.status == 403                        # the CSRF header, as always
        finally:
            await http.close()

