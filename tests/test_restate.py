"""The restatement: specific, in the bot's voice, in the customer's script."""

from __future__ import annotations

from bot.details import Details
from bot.normalize import canonical
from bot.restate import empathy_line, feeling, feeling_words, restate
from dialogs.model import Dialog


def test_the_humidifier_example_from_the_brief(dialog: Dialog) -> None:
    said = restate(["我買的加濕器用兩天就不出霧了，打給客服三次都沒有答案"], "zh-TW", dialog, Details())
    assert said == "您購買的加濕器使用兩天後就無法出霧，聯繫客服三次都沒有得到明確答覆"


def test_pronouns_turn_in_chinese(dialog: Dialog) -> None:
    said = restate(["你們門市的店員對我很兇"], "zh-TW", dialog, Details())
    assert said == "我們門市的店員對您很兇"


def test_pronouns_turn_in_english(dialog: Dialog) -> None:
    said = restate(["I was charged twice for my order and your app says I'm wrong"], "en",
                   dialog, Details())
    assert said == "you were charged twice for your order and our app says you're wrong"


def test_a_story_told_twice_is_restated_once(dialog: Dialog) -> None:
    said = restate(["我買的熱水壺底部一直漏水", "熱水壺底部一直漏水啦，訂單 A1234567"], "zh-TW",
                   dialog, Details(order_numbers=("A1234567",)))
    assert said.count("漏水") == 1 and said.count("A1234567") == 1


def test_outbursts_threats_and_greetings_are_not_echoed(dialog: Dialog) -> None:
    said = restate(["哈囉，我訂的烤箱門關不起來，太扯了吧，再不處理我就去消保官檢舉"], "zh-TW",
                   dialog, Details())
    assert "烤箱" in said and "門" in said
    for echo in ("哈囉", "太扯", "消保官", "檢舉"):
        assert echo not in said


def test_english_keeps_its_capitals_and_turns_object_pronouns(dialog: Dialog) -> None:
    said = restate(["The Philips kettle I got from you leaks. Absolutely pathetic."], "en",
                   dialog, Details())
    assert "Philips" in said and "from us" in said and "pathetic" not in said


def test_the_case_script_wins(dialog: Dialog) -> None:
    assert restate(["我买的吹风机坏了"], "zh-CN", dialog, Details()) == "您购买的吹风机坏了"
    assert restate(["我买的吹风机坏了"], "zh-TW", dialog, Details()) == "您購買的吹風機壞了"


def test_markup_control_characters_and_shouting_are_cleaned(dialog: Dialog) -> None:
    said = restate(["<script>alert(1)</script>我的滑鼠\u0000壞了！！！"], "zh-TW", dialog, Details())
    assert "<" not in said and "\u0000" not in said and "！" not in said
    assert "滑鼠" in said


def test_long_tellings_are_cut_at_a_clause(dialog: Dialog) -> None:
    items = ["吹風機", "電視", "冰箱", "洗衣機", "咖啡機", "烤箱", "耳機", "鍵盤", "滑鼠", "檯燈",
             "電風扇", "沙發", "床墊", "外套", "行李箱", "保溫杯", "果汁機", "吸塵器", "手機殼", "平板"]
    said = restate(["，".join(f"{item}第{n}天就壞了" for n, item in enumerate(items, 1))],
                   "zh-TW", dialog, Details())
    assert len(said) <= dialog.restatement.max_chars
    assert said.endswith("…") and not said.endswith("，…")


def test_empathy_picks_the_specific_line(dialog: Dialog) -> None:
    broken = empathy_line("product", canonical("咖啡機到貨就是壞的"), "zh-TW", dialog)
    generic = empathy_line("product", canonical("咖啡機用一週就壞了"), "zh-TW", dialog)
    assert broken != generic and "打開" in broken


def test_a_restatement_never_names_the_same_feeling_twice(dialog: Dialog) -> None:
    """The empathy line often says the feeling already ("…真的很掃興。"); the restatement
    right after it then does not say "讓您很掃興" again. Checked on the first example of
    every situation, in every locale, through a whole turn."""
    from datetime import UTC, datetime

    from bot.turns import handle_incoming
    from bot.types import Incoming
    from storage.store import Store

    store = Store.open(":memory:")
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    checked = named_in_empathy = 0
    for name, category in dialog.categories.items():
        for situation in category.situations.values():
            for locale in ("zh-TW", "zh-CN", "en"):
                examples = situation.examples.get(locale) or ()
                if not examples:
                    continue
                user = f"{name}-{situation.id}-{locale}"
                with store.transaction():
                    result = handle_incoming(store, dialog, Incoming(
                        channel="web", user_id=user, event_id=user, received_at=now,
                        text=examples[0]), now)
                case = result.step.case if result else None
                said = [o.text for o in result.step.outgoing] if result else []
                if case is None or case.stage != "confirming" or case.category is None:
                    continue
                felt = feeling(case.category, case.signals, case.locale, dialog, case.situation)
                core = felt.removeprefix("很").removeprefix("a ").removeprefix("really ")
                restatement = said[-1]
                checked += 1
                named_in_empathy += core in empathy_line(case.category, canonical(case.telling()[0]),
                                                         case.locale, dialog, case.situation)
                for word in feeling_words(felt):         # "又擔心又著急": 擔心 once too
                    assert restatement.lower().count(word) <= 1, restatement
    assert checked > 60 and named_in_empathy > 30       # the case this is about is common


def test_english_restatements_read_as_sentences(dialog: Dialog) -> None:
    """The customer's first word ("Tracking says…", "Charged it overnight…") is theirs to
    capitalise, not ours: in the bot's reply it starts a sentence, with a capital, or runs
    on after a comma or a colon in lower case, unless it is a name ("I", or a word the
    customer capitalised where no sentence starts). Measured over every English example
    of every situation, through whole turns: before this was kept, 393 of 4,434 replies
    broke it; a few names only the customer knows ("Aplpe") may still."""
    import re
    from datetime import UTC, datetime

    from bot.turns import handle_incoming
    from bot.types import Incoming
    from storage.store import Store

    store = Store.open(":memory:")
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    checked, wrong = 0, []
    for name, category in dialog.categories.items():
        for situation in category.situations.values():
            for i, told in enumerate(situation.examples.get("en") or ()):
                user = f"{name}-{situation.id}-{i}"
                with store.transaction():
                    result = handle_incoming(store, dialog, Incoming(
                        channel="web", user_id=user, event_id=user, received_at=now,
                        text=told), now)
                if result is None or result.step.case is None or \
                        result.step.case.locale != "en":
                    continue
                names = {*re.findall(r"(?<=[^.!?\s] )[A-Z][\w']*", told), "I", "I'm", "I've"}
                for said in (o.text for o in result.step.outgoing):
                    checked += 1
                    wrong += [said for sentence in
                              re.split(r"(?<![ap]\.m\.)(?<=[.!?])\s+|\n", said)
                              if sentence[:1].islower()]
                    wrong += [said for word in re.findall(r"[,:;] ([A-Z][\w']*)", said)
                              if word in told and word not in names]
    assert checked > 4000
    assert len(wrong) * 200 <= checked, wrong[:10]        # at most 1 in 200


def test_an_order_number_taken_out_leaves_its_noun_where_the_words_need_it(
        dialog: Dialog) -> None:
    """The order number is named once, at the end; "the same order M555…" keeps "order"
    (not "for the same (order …)"), "from my order A…" drops the whole phrase."""
    cases = [
        ("en", "I was charged twice for the same order M55512345", "M55512345",
         "for the same order", "the same ("),
        ("en", "my order A12345678 has not arrived", "A12345678", "your order has", "your has"),
        ("en", "I got the wrong item from my order A12345678", "A12345678",
         "got the wrong item", "from your order"),
        ("zh-TW", "我的訂單A12345678還沒到", "A12345678", "您的訂單還沒到", "的 "),
        ("zh-TW", "同一筆訂單 A12345678 被扣款兩次", "A12345678", "同一筆訂單被扣款兩次", "筆 "),
    ]
    for locale, told, number, kept, never in cases:
        said = restate([told], locale, dialog, Details(order_numbers=(number,)))
        assert kept in said and never not in said and said.count(number) == 1, said
