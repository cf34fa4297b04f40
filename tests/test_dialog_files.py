"""Dialog files: clear errors (file, path, reason), the last good dialog stays live, lint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.turns import handle_incoming
from bot.types import Incoming
from dialogs.lint import check_text, lint
from dialogs.loader import DialogError, DialogHolder, default_dialog_path, load_dialog, read_yaml
from storage.store import Store


def copy_with(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = read_yaml(default_dialog_path().read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "edited.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DialogError) as caught:
        load_dialog(path)
    return [str(p) for p in caught.value.problems]


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()


@pytest.mark.parametrize(("where", "value", "path", "reason"), [
    ("texts.ack.en", _DELETE, "texts.ack.en", "missing"),
    ("texts.ack.zh-TW", "案件 {case}", "texts.ack.zh-TW", "unknown placeholder {case}"),
    ("texts.ack.zh-TW", "案件 {case_number", "texts.ack.zh-TW", "broken placeholder"),
    ("texts.hello", {"zh-TW": "x", "zh-CN": "x", "en": "x"}, "texts.hello", "unknown key"),
    ("grades.high.first_response", "soon", "grades.high.first_response", "not a duration"),
    ("categories.product.severity", "severe", "categories.product.severity", "must be one of"),
    ("signals.anger.weight", "heavy", "signals.anger.weight", "must be a number"),
    ("risk_threshold", -1, "risk_threshold", "at least"),
    ("timezone", "Mars/Olympus", "timezone", "unknown time zone"),
    ("order_number_pattern", "([", "order_number_pattern", "not a regular expression"),
    ("intents.yes", _DELETE, "intents.yes", "missing"),
    ("buttons.human.en", "Talk to a real human being now", "buttons.human.en", "at most 20"),
    ("texts.restate_named.en", "{empathy} {summary}, {feeling}?", "texts.restate_named.en",
     "unknown placeholder {feeling}"),
])
def test_each_mistake_is_reported_with_its_path(tmp_path: Path, where: str, value: Any,
                                                path: str, reason: str) -> None:
    edited = copy_with(tmp_path, lambda d: _set(d, where, value))
    found = problems_of(edited)
    assert any(p.startswith(f"{edited}:{path}") and reason in p for p in found), found


def test_an_older_dialog_without_the_optional_texts_still_loads(tmp_path: Path) -> None:
    """`restate_named` came later: a file without it loads, and its restatement says
    `restate` as it always did."""
    edited = copy_with(tmp_path, lambda d: _set(d, "texts.restate_named", _DELETE))
    dialog = load_dialog(edited)
    assert "restate_named" not in dialog.texts
    store = Store.open(":memory:")
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with store.transaction():
        result = handle_incoming(store, dialog, Incoming(
            channel="web", user_id="u1", event_id="e1", received_at=now,
            text="我買的螢幕跟筆電都是壞的"), now)
    assert result is not None and "讓您很掃興，對嗎" in result.step.outgoing[-1].text


def test_exactly_two_remedies_per_grade(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["categories"]["billing"]["remedies"]["high"] = d["categories"]["billing"]["remedies"]["high"][:1]
    found = problems_of(copy_with(tmp_path, edit))
    assert any("categories.billing.remedies.high: exactly two remedies" in p for p in found)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("version: 1\ntexts:\n  ack: [unclosed\n", encoding="utf-8")
    found = problems_of(path)
    assert len(found) == 1 and "invalid YAML at line" in found[0] and str(path) in found[0]


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    found = problems_of(tmp_path / "nope.yml")
    assert found == [f"{tmp_path / 'nope.yml'}: cannot read: No such file or directory"]


def test_the_last_good_dialog_stays_live(tmp_path: Path) -> None:
    path = tmp_path / "live.yml"
    path.write_text(default_dialog_path().read_text(encoding="utf-8"), encoding="utf-8")
    holder = DialogHolder(path)
    good = holder.dialog
    path.write_text("version: 1\ncategories: oops\n", encoding="utf-8")
    assert holder.reload() is False
    assert holder.dialog is good and holder.last_error is not None
    assert f"{path}:categories" in str(holder.last_error)
    edited = default_dialog_path().read_text(encoding="utf-8").replace(
        "risk_threshold: 1.0", "risk_threshold: 1.5")
    path.write_text(edited, encoding="utf-8")
    assert holder.reload() is True
    assert holder.dialog.risk_threshold == 1.5 and holder.last_error is None


def test_the_default_dialog_passes_lint() -> None:
    assert lint(default_dialog_path()) == []


@pytest.mark.parametrize(("text", "locale", "reason"), [
    ("這是物流公司的問題，請您見諒", "zh-TW", "blames someone else"),
    ("依照規定無法退款", "zh-TW", "blames someone else"),
    ("That's the courier's fault.", "en", "blames someone else"),
    ("我們保證絕對不會再發生", "zh-TW", "promises what nobody can keep"),
    ("We guarantee this will never happen again.", "en", "promises what nobody can keep"),
    ("造成不便敬請見諒", "zh-TW", "stiff boilerplate"),
    ("We apologize for any inconvenience.", "en", "stiff boilerplate"),
    ("我们会尽快处理", "zh-TW", "Simplified characters"),
    ("請提供您的信息和視頻", "zh-TW", "mainland wording"),
    ("這個軟件的質量", "zh-TW", "mainland wording"),
    ("我們會盡快處理", "zh-CN", "Traditional characters"),
])
def test_lint_catches_complaint_handling_mistakes(text: str, locale: str, reason: str) -> None:
    assert any(reason in r for r in check_text(text, locale)), check_text(text, locale)


def test_good_taiwan_wording_passes() -> None:
    for text in ("我們今天寄出全新的商品，運費由我們負擔。", "專人會和您聯繫，了解細節。",
                 "請提供您的訊息和影片。"):
        assert check_text(text, "zh-TW") == []


async def test_heard_reload_rejects_a_broken_edit_and_takes_a_good_one(tmp_path: Path) -> None:
    import asyncio
    import os
    import sys

    from tests.channels import serving

    live = tmp_path / "live.yml"
    good = default_dialog_path().read_text(encoding="utf-8")
    live.write_text(good, encoding="utf-8")
    root = Path(__file__).resolve().parent.parent

    token = "admin-token-for-the-reload-test"

    async def reload(url: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "reload", "--url", url, cwd=root,
            env={**os.environ, "HEARD_ADMIN_TOKEN": token},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    async with serving(tmp_path / "h.db", dialog=live, admin_token=token) as s:
        before = s.server.dialogs.dialog.digest
        live.write_text(good.replace("  ack:\n", "  ack_typo:\n", 1), encoding="utf-8")
        code, out = await reload(s.url)
        assert code == 1 and f"{live}:texts.ack" in out and "stays live" in out
        assert s.server.dialogs.dialog.digest == before
        async with s.http.get(f"{s.url}/healthz") as r:
            assert f"{live}:texts" in (await r.json())["dialog"]["last_error"]
        live.write_text(good.replace("risk_threshold: 1.0", "risk_threshold: 1.5"),
                        encoding="utf-8")
        code, out = await reload(s.url)
        assert code == 0 and "reloaded" in out
        assert s.server.dialogs.dialog.risk_threshold == 1.5


# ---------------------------------------------------------------- measure words, details

def test_products_keep_their_measure_words_in_either_script() -> None:
    dialog = load_dialog(default_dialog_path())
    assert dialog.measure_word("加濕器", "zh-TW") == "台"
    assert dialog.measure_word("加湿器", "zh-TW") == "台"      # Simplified spelling, zh-TW reply
    assert dialog.measure_word("口紅", "zh-CN") == "支"
    assert dialog.measure_word("手机", "zh-CN") == "部"
    assert dialog.measure_word("雞排", "zh-TW") == "份"
    assert dialog.measure_word("kettle", "en") is None
    assert dialog.measure_word("不是商品", "zh-TW") is None
    assert "加溼器" in dialog.products and "kettle" in dialog.products   # flat, canonical
    assert "黑色" in dialog.colours and "black" in dialog.colours


@pytest.mark.parametrize(("where", "value", "path", "reason"), [
    ("categories.product.remedies.minor.0.offer.zh-TW", "換一件{thing}給您",
     "categories.product.remedies.minor[0].offer.zh-TW", "unknown placeholder {thing}"),
    ("categories.product.remedies.minor.0.offer.en", "a new {measure} for you",
     "categories.product.remedies.minor[0].offer.en", "for Chinese texts only"),
    ("products.zh-TW", {"台": "加濕器"}, "products.zh-TW.台", "must be a list of products"),
    ("products.en", {"pair": ["shoes"]}, "products.en", "measure words are for Chinese"),
    ("categories.safety.situations.injury.advice", {"zh-TW": "x", "zh-CN": "x"},
     "categories.safety.situations.injury.advice.en", "missing"),
])
def test_details_mistakes_are_reported_with_their_path(tmp_path: Path, where: str, value: Any,
                                                      path: str, reason: str) -> None:
    edited = copy_with(tmp_path, lambda d: _set(d, where, value))
    found = problems_of(edited)
    assert any(p.startswith(f"{edited}:{path}") and reason in p for p in found), found


def test_remedy_texts_may_use_the_detail_placeholders(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["categories"]["billing"]["remedies"]["minor"][0]["offer"]["en"] = (
            "{difference} back for order {order}: the {item} in {size}, {colour}")
    assert load_dialog(copy_with(tmp_path, edit)).categories["billing"].remedies["minor"][0]


def _lint_of(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> list[str]:
    return [str(p) for p in lint(copy_with(tmp_path, edit))]


def test_lint_catches_an_empathy_line_that_hedges_between_two_situations(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["categories"]["logistics"]["empathy"][-1]["text"] = {
            "zh-TW": "東西遲遲沒到，或收到的不是您要的，真的很讓人心急。",
            "zh-CN": "东西迟迟没到，或是收到的不是您要的，真的很让人心急。",
            "en": "Waiting for something that doesn't come, or getting the wrong thing, is stressful."}
        d["categories"]["billing"]["situations"]["price_drop"]["empathy"]["en"] = (
            "Paying more than you should have or being charged twice is upsetting.")
    found = _lint_of(tmp_path, edit)
    for locale in ("zh-TW", "zh-CN", "en"):
        assert any(f"logistics.empathy[2].text.{locale}: an empathy line that hedges" in p
                   for p in found), found
    assert any("price_drop.empathy.en: an empathy line that hedges" in p for p in found)


def test_lists_of_words_joined_by_or_are_not_hedging() -> None:
    from dialogs.lint import hedged
    assert hedged("遇到冒煙、起火或觸電這種狀況一定嚇壞了。", "zh-TW") == []
    assert hedged("明明不想再付費卻還是被扣款，真的很無奈。", "zh-TW") == []
    assert hedged("Something smoking, catching fire or shocking you is frightening.", "en") == []


def test_lint_catches_a_measure_word_that_does_not_fit_the_product(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        remedy = d["categories"]["product"]["remedies"]["minor"][0]
        remedy["offer"]["zh-TW"] = "今天換一件全新的加濕器給您"
        remedy["commitment"]["zh-CN"] = "我们今天寄出一个新的口红"
    found = _lint_of(tmp_path, edit)
    assert any("remedies.minor[0].offer.zh-TW: measure word '件'" in p and "'台'" in p
               for p in found), found
    assert any("remedies.minor[0].commitment.zh-CN: measure word '個'" in p for p in found)


def test_the_right_measure_word_passes() -> None:
    measures = {"加溼器": "台", "手機": "支", "手機殼": "個"}
    assert check_text("今天換一台全新的加濕器給您，再送一個手機殼", "zh-TW", measures) == []
    assert check_text("今天換一件全新的加濕器給您", "zh-TW", measures) != []


def test_lint_catches_clock_times_written_into_texts(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["texts"]["ack"]["zh-TW"] = "已收到，案件編號 {case_number}，我們 09:00 前回覆您。"
        d["texts"]["ack"]["en"] = "Got it, case {case_number}; we reply by 3:30 pm."
    found = _lint_of(tmp_path, edit)
    assert any("texts.ack.zh-TW: a clock time" in p and "09:00" in p for p in found), found
    assert any("texts.ack.en: a clock time" in p and "3:30" in p for p in found), found


def test_lint_wants_advice_for_every_urgent_situation(tmp_path: Path) -> None:
    found = _lint_of(tmp_path, lambda d: d["categories"]["safety"]["situations"]["injury"]
                     .pop("advice"))
    assert any("categories.safety.situations.injury: an urgent situation without `advice:`"
               in p for p in found), found


def test_the_shipped_dialog_speaks_as_an_online_shop() -> None:
    dialog = load_dialog(default_dialog_path())
    for category in dialog.categories.values():
        for pair in category.remedies.values():
            for remedy in pair:
                for text in (remedy.offer, remedy.commitment):
                    assert "門市" not in text.get("zh-TW") and "店長" not in text.get("zh-TW")
    visit = dialog.categories["service"].situations["store_visit"]
    assert visit.remedies and all(len(v) >= 60 for v in visit.examples.values())
    assert all(len(v) >= 60 for v in dialog.acts["addition"].values())
