"""The text model Heard trains from the dialog's examples: measured on messages it never
saw, explained, cached, and taught by adding examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.classify import classification
from bot.understanding import model_for
from bot.understanding.evaluation import evaluate, holdout, read_rows, report
from dialogs.loader import DialogError, DialogHolder, default_dialog_path, load_dialog, validate
from dialogs.model import Dialog

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "understanding"

# Floors for the dev set (messages written by the team, never trained on). CI fails when
# understanding falls below them; raise them as Heard gets better.
CATEGORY_FLOOR = {"zh-TW": 0.87, "zh-CN": 0.86, "en": 0.80}
ESCALATION_RECALL_FLOOR = 0.90
FALSE_ESCALATION_CEILING = 0.05
NON_COMPLAINT_ESCALATION_CEILING = 0.05
ACT_FLOOR = 0.84


def _figures(name: str, dialog: Dialog):  # type: ignore[no-untyped-def]
    with open(DATA / name, encoding="utf-8") as handle:
        kind, rows = read_rows(handle)
    figures = evaluate(kind, rows, dialog)
    print(f"\n{name}:\n" + "\n".join(report(figures, misses=0)))
    return figures


def test_the_dev_set_is_understood_above_the_floors(dialog: Dialog) -> None:
    figures = _figures("dev.tsv", dialog)
    assert figures.counts["category_accuracy_n"] >= 400
    for locale, floor in CATEGORY_FLOOR.items():
        assert (figures.rate("category_accuracy", locale) or 0) >= floor, locale
    assert (figures.rate("escalation_recall") or 0) >= ESCALATION_RECALL_FLOOR
    assert (figures.rate("false_escalation") or 1) <= FALSE_ESCALATION_CEILING
    assert (figures.rate("false_escalation_non_complaints") or 1) <= NON_COMPLAINT_ESCALATION_CEILING


def test_replies_are_read_as_the_right_act(dialog: Dialog) -> None:
    figures = _figures("acts.tsv", dialog)
    assert (figures.rate("act_accuracy") or 0) >= ACT_FLOOR


def test_examples_held_out_of_training_are_still_understood(dialog: Dialog) -> None:
    """The model does not memorise: trained without a fifth of the dialog's examples, it
    still reads that fifth."""
    figures = holdout(dialog)
    print("\nheld out:\n" + "\n".join(report(figures, misses=0)))
    assert (figures.rate("category_accuracy") or 0) >= 0.8
    assert (figures.rate("situation_accuracy") or 0) >= 0.85
    assert (figures.rate("act_accuracy") or 0) >= 0.85
    assert (figures.rate("safety_recall") or 0) >= 0.75
    for name in ("threat", "safety", "insult", "accusation", "anger", "human_request"):
        assert (figures.rate(f"{name}_false") or 0) <= 0.02, name


@pytest.mark.parametrize("text", [
    "昨晚吃了你們的滷肉飯，半夜一直拉肚子",
    "我家小孩喝完果汁後上吐下瀉，現在在醫院",
    "吃到一半覺得反胃，湯裡面有奇怪的味道",
    "用了你們的洗面乳整張臉過敏，紅腫又起疹子",
    "開箱時玻璃杯碎片把手割傷了，一直流血",
    "熱水壺的蓋子彈開，我的手被燙傷",
    "延長線插上去就冒煙，差點起火",
    "行動電源充電的時候突然爆炸",
    "洗衣機外殼會漏電，摸到被電一下",
    "My daughter broke out in hives after using the sunscreen",
    "the toaster sparked and the cord melted",
    "I was vomiting all night after the chicken wrap",
    "big red rash on my arms from this detergent",
])
def test_every_kind_of_harm_is_a_safety_case(dialog: Dialog, text: str) -> None:
    result = classification(text, dialog)
    assert result["category"] == "safety" and result["escalate"], result


@pytest.mark.parametrize("text", [
    "這瓶洗髮精洗完頭髮還是很乾澀，不太推",
    "吹風機吹頭髮要很久才會乾",
    "the hair dryer takes forever to dry my hair",
])
def test_hair_on_a_head_is_no_safety_case(dialog: Dialog, text: str) -> None:
    result = classification(text, dialog)
    assert result["category"] != "safety" and not result["escalate"], result


def test_hair_in_a_meal_is_a_foreign_object(dialog: Dialog) -> None:
    result = classification("便當的飯裡面夾著一根長頭髮，很噁心", dialog)
    assert result["category"] == "safety" and result["escalate"]


def test_classify_explains_situation_act_confidence_and_the_nearest_example(
        tmp_path: Path) -> None:
    env = {**os.environ, "HEARD_MODEL_DIR": str(tmp_path / "models"), "HEARD_DB": str(tmp_path / "h.db")}
    text = "訂的炸雞送到的時候整個都冷掉了，薯條也軟掉\nthanks!\n"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "classify", "--json"], input=text,
                          capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["category"] == "logistics" and first["situation"] == "food_cold"
    assert first["act"] == "other" and 0 < first["confidence"] <= 1
    explanation = first["explanation"]
    assert explanation["by"] in ("model", "keyword")
    assert explanation["nearest_example"]["text"]
    assert second["act"] == "thanks" and second["category"] is None
    assert "trained the text model" in done.stderr
    assert list((tmp_path / "models").glob("*.npz"))
    again = subprocess.run([sys.executable, "-m", "bot.cli", "classify"], input="你好\n",
                           capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert "trained the text model" not in again.stderr   # read from disk, not trained


def test_eval_prints_the_figures_and_the_misses(tmp_path: Path) -> None:
    labelled = tmp_path / "mine.tsv"
    labelled.write_text("text\tcategories\tescalate\n"
                        "退款到現在還沒收到\tbilling\tn\n"
                        "再不處理我就找消保官\tbilling\ty\n"
                        "你好\tnone\tn\n", encoding="utf-8")
    env = {**os.environ, "HEARD_MODEL_DIR": str(ROOT / "data" / "models")}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(labelled), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    figures = json.loads(done.stdout)[str(labelled)]
    assert figures["category_accuracy_n"] == 2 and figures["escalation_recall_n"] == 1
    broken = tmp_path / "broken.tsv"
    broken.write_text("退款到現在還沒收到\tbilling\tmaybe\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(broken)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 1 and "line 1: escalate must be y or n" in done.stderr
    broken.write_bytes("退款還沒到\tbilling\tn\n".encode() + b"\xff\xfe\tbilling\tn\n")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "eval", str(broken)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 1 and "line 2: not UTF-8" in done.stderr


def _edited(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(default_dialog_path().read_text("utf-8"))
    edit(data)
    path = tmp_path / "mine.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_validate_wants_examples_in_every_locale(tmp_path: Path) -> None:
    def drop(data: dict) -> None:  # type: ignore[type-arg]
        del data["categories"]["billing"]["situations"]["price_drop"]["examples"]["en"]
        del data["acts"]["progress"]["zh-CN"]
        del data["signals"]["threat"]["examples"]
    problems = [str(p) for p in validate(_edited(tmp_path, drop))]
    assert any("categories.billing.situations.price_drop.examples.en: needs example" in p
               for p in problems)
    assert any("acts.progress.zh-CN: needs example" in p for p in problems)
    assert any("signals.threat.examples: missing" in p for p in problems)


def test_below_the_confidence_the_fallback_category_is_used(tmp_path: Path) -> None:
    def strict(data: dict) -> None:  # type: ignore[type-arg]
        data["understanding"] = {"fallback_category": "other", "confidence": 0.999}
    dialog = load_dialog(_edited(tmp_path, strict))
    result = classification("They left my box out in the rain and it is all soaked", dialog)
    assert result["category"] == "other" and result["explanation"]["by"] == "fallback"


def test_examples_teach_a_new_situation_and_a_reload_trains_it_before_it_goes_live(
        tmp_path: Path) -> None:
    holder = DialogHolder(default_dialog_path(), prepare=model_for)
    text = "the gift wrapping paper was torn and the ribbon missing"
    before = classification(text, holder.dialog)
    wrapping = {
        "zh-TW": ["禮物包裝紙破掉了", "緞帶不見了，包裝很隨便", "說好的禮盒包裝沒有包",
                  "包裝紙皺巴巴的很難看"],
        "zh-CN": ["礼物包装纸破了", "丝带没了，包装很随便", "说好的礼盒包装没包", "包装纸皱巴巴的很难看"],
        "en": ["the gift wrap was ripped", "no ribbon on the gift wrapping",
               "you forgot the gift wrapping I paid for",
               "gift wrapping paper was crumpled and torn", "the wrapping paper on my present was torn"],
    }

    def teach(data: dict) -> None:  # type: ignore[type-arg]
        data["categories"]["other"]["situations"]["gift_wrap"] = {
            "name": {"zh-TW": "禮物包裝", "zh-CN": "礼物包装", "en": "gift wrapping"},
            "examples": wrapping}
    holder.path = _edited(tmp_path, teach)
    assert holder.reload()
    after = classification(text, holder.dialog)
    assert (after["category"], after["situation"]) == ("other", "gift_wrap")
    assert (before["category"], before["situation"]) != ("other", "gift_wrap")

    def refuse(dialog: Dialog) -> None:
        raise RuntimeError("no room to train")
    holder.prepare = refuse
    holder.path.write_text(holder.path.read_text("utf-8").replace("禮物包裝紙破掉了", "禮物包裝紙破了"),
                           "utf-8")
    assert not holder.reload()
    assert isinstance(holder.last_error, DialogError) and "no room to train" in str(holder.last_error)
    assert classification(text, holder.dialog)["situation"] == "gift_wrap"   # last good one


def test_only_the_latest_models_are_kept_on_disk(tmp_path: Path) -> None:
    from bot.understanding import cache

    for n in range(cache.KEEP + 3):
        for suffix in (".npz", ".json"):
            path = tmp_path / f"{n:064x}{suffix}"
            path.write_bytes(b"old")
            os.utime(path, (1_000_000 + n, 1_000_000 + n))
    cache._prune(tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert kept == [f"{n:064x}.npz" for n in range(3, cache.KEEP + 3)]
    assert len(list(tmp_path.glob("*.json"))) == cache.KEEP
