"""Reading one message: script, locale, category with its words, details, signals, intents."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.case import SignalHit
from bot.details import mask_pii
from bot.locale import detect_locale
from bot.logs import RedactingFilter, register_secret
from bot.normalize import canonical
from bot.signals import risk_of, similarity
from bot.understanding import classify, explain_category, severity_for, understand
from dialogs.model import Dialog


def test_traditional_simplified_and_full_width_meet_in_one_form() -> None:
    assert canonical("加湿器") == canonical("加濕器") == canonical("加溼器")
    assert canonical("ＡＰＰ　１２３") == "app 123"


@pytest.mark.parametrize(("text", "locale"), [
    ("我買的加濕器壞了", "zh-TW"),
    ("我买的加湿器坏了", "zh-CN"),
    ("My kettle broke", "en"),
    ("你好", None),          # only characters both scripts share: the hint decides
    ("😡😡", None),
])
def test_locale_is_told_from_script_and_words(text: str, locale: str | None) -> None:
    assert detect_locale(text) == locale


def test_a_keyword_decides_the_category_and_says_so(dialog: Dialog) -> None:
    decision = classify(canonical("我買的加濕器用兩天就不出霧了"), dialog)
    assert (decision.category, decision.by) == ("product", "keyword")
    assert "不出霧" in decision.words


def test_a_keyword_written_once_matches_both_scripts(dialog: Dialog) -> None:
    assert classify(canonical("我被重复扣款了两次"), dialog).category == "billing"
    assert classify(canonical("我被重複扣款了兩次"), dialog).category == "billing"


def test_without_keywords_the_model_decides_and_names_what_pushed_it(dialog: Dialog) -> None:
    decision = classify(canonical("They left my box out in the rain and everything inside "
                                  "is soaked"), dialog)
    assert decision.category == "logistics" and decision.by == "model"
    assert 0 < decision.confidence <= 1
    why = explain_category(canonical("They left my box out in the rain and everything inside "
                                     "is soaked"), decision, dialog)
    assert why["features"] and why["nearest_example"]["text"]


def test_a_vague_message_has_no_category(dialog: Dialog) -> None:
    assert classify(canonical("我有問題想反映"), dialog).category is None
    assert understand("I have a complaint", dialog).category is None


def test_details_are_found(dialog: Dialog) -> None:
    u = understand("訂單編號 tw20261120001，昨天付了 NT$1,280，電話 0912-345-678，"
                   "信箱 amy@example.com，買的是加濕器", dialog)
    assert u.details.order_numbers == ("TW20261120001",)
    assert "nt$1,280" in u.details.amounts
    assert "昨天" in u.details.dates
    assert u.details.phones == ("0912-345-678",)
    assert u.details.emails == ("amy@example.com",)
    assert u.details.products == (canonical("加濕器"),)


def test_phone_numbers_and_emails_are_masked() -> None:
    masked = mask_pii("打 0912-345-678 或 +886 912 345 678，寄 amy.lee@example.com")
    assert "345" not in masked and "amy.lee" not in masked
    assert "09**-***-*78" in masked and "a***@example.com" in masked
    assert mask_pii("訂單 A12345678 共 1280 元") == "訂單 A12345678 共 1280 元"


def test_log_lines_are_masked_and_secrets_hidden(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("super-secret-token-123")
    logger = logging.getLogger("heard.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="heard.test"):
        logger.info("from %s token %s", "0912-345-678", "super-secret-token-123")
    assert "345-678" not in caplog.text and "super-secret" not in caplog.text
    assert "[secret]" in caplog.text


def test_signals_carry_weight_and_words(dialog: Dialog) -> None:
    u = understand("你們是詐騙集團！！！我要找消保官，還要打1950", dialog)
    hits = {s.name: s for s in u.signals}
    assert {"accusation", "exclamation", "threat"} <= set(hits)
    assert set(hits["threat"].words) == {"消保官", "1950"}
    assert hits["accusation"].weight == dialog.signals["accusation"].weight


def test_english_words_need_word_boundaries(dialog: Dialog) -> None:
    assert "threat" not in {s.name for s in understand("There is an issue with order 19500",
                                                       dialog).signals}
    assert "threat" in {s.name for s in understand("I will sue you", dialog).signals}


def test_capital_shouting_is_an_exclamation(dialog: Dialog) -> None:
    assert "exclamation" in [h.name for h in understand("WHERE IS MY PARCEL", dialog).signals]
    assert "exclamation" not in [h.name for h in understand("Where is my PARCEL",
                                                            dialog).signals]


def test_risk_counts_each_signal_once_at_its_highest_weight() -> None:
    hits = [SignalHit("anger", 0.7, ("a",)), SignalHit("anger", 0.7, ("b",)),
            SignalHit("exclamation", 0.3, ("!!!",))]
    assert risk_of(hits) == 1.0


def test_short_answers_are_intents_and_long_tellings_are_not(dialog: Dialog) -> None:
    assert "no" in understand("不對", dialog).intents
    assert understand("第一個", dialog).intents >= {"first"}
    assert "first" in understand("1", dialog).intents
    assert "first" not in understand("我買了1個杯子", dialog).intents
    long_text = "對了，" + "我上週買的咖啡機每天早上都會發出很大的聲音，" * 3
    assert not understand(long_text, dialog).intents - {"progress"}


@pytest.mark.parametrize(("text", "act"), [
    ("是", "yes"), ("沒錯", "yes"), ("yep that's it", "yes"),
    ("不對", "no"), ("不對，是充電盒壞了，耳機本身沒事", "correction"),
    ("第二個", "second"), ("退款好了", "second"), ("I'll take the refund", "second"),
    ("換新的就好", "first"), ("兩個都不要", "reject"),
    ("我要找真人客服", "human"), ("where is my refund???", "progress"),
    ("謝謝", "thanks"), ("哈囉", "greeting"),
])
def test_what_a_reply_means_is_its_act(dialog: Dialog, text: str, act: str) -> None:
    assert understand(text, dialog).act.act == act


def test_a_long_telling_is_no_short_answer(dialog: Dialog) -> None:
    u = understand("我上週買的咖啡機每天早上都會發出很大的聲音，客服也一直沒回我", dialog)
    assert u.act.act in ("other", "correction") and u.category is not None


def test_severity_is_raised_by_signals(dialog: Dialog) -> None:
    threat = SignalHit("threat", 1.0, ("消保官",))
    safety = SignalHit("safety", 1.0, ("漏電",))
    assert severity_for("product", [], dialog) == "standard"
    assert severity_for("product", [threat], dialog) == "high"
    assert severity_for("product", [threat, safety], dialog) == "urgent"
    assert severity_for(None, [], dialog) == "standard"


def test_similarity_of_the_same_complaint_retold() -> None:
    a, b = canonical("吸塵器的吸力變得很弱"), canonical("吸塵器吸力又變弱了")
    assert similarity(a, b) > 0.2
    assert similarity(a, canonical("包裹還沒到")) == 0.0


def test_empty_and_punctuation_only_messages_are_empty(dialog: Dialog) -> None:
    for text in ("", "   ", "。。。，，，", "!!!???", "\u0000\u0007"):
        assert understand(text, dialog).is_empty
    assert not understand("壞了", dialog).is_empty


def test_words_of_one_length_come_out_in_the_same_order_in_every_process() -> None:
    """Which product a restatement names first must not depend on the process: Python
    orders a set of strings differently from one process to the next (PYTHONHASHSEED)."""
    code = ("from bot.signals import WordList; "
            "print(WordList(['螢幕', '筆電', '耳機', '滑鼠', 'mouse', 'phone']).find("
            "'螢幕跟筆電還有耳機滑鼠都壞了 my mouse and phone too'))")
    found = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent, check=True,
                            env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
             for seed in range(8)}
    assert found == {"('螢幕', '筆電', '耳機', '滑鼠', 'mouse', 'phone')\n"}
