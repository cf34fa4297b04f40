"""The in-memory dialog: what the engine and understanding read. Built by `dialogs.loader`.

Every word list here is already `bot.normalize.canonical()`-ised and merged across
locales (a keyword written in zh-TW also matches zh-CN text and vice versa); every text
the bot says is kept per locale, as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.normalize import canonical, to_simplified, to_traditional

if TYPE_CHECKING:
    from dialogs.labels import Label

LOCALES: tuple[str, ...] = ("zh-TW", "zh-CN", "en")
# Ordered from most to least severe; index 0 is the most severe.
SEVERITIES: tuple[str, ...] = ("urgent", "high", "standard", "minor")
CATEGORY_IDS: tuple[str, ...] = (
    "product", "logistics", "service", "billing", "account", "safety", "other",
)
SIGNAL_NAMES: tuple[str, ...] = (
    "threat", "safety", "insult", "accusation", "anger", "exclamation", "human_request", "tone",
    "repeated", "rejected_remedies", "progress_chasing",
)
# Signals read from the text by phrases (an override) and a model trained on examples.
TEXT_SIGNALS: tuple[str, ...] = ("threat", "safety", "insult", "accusation", "anger",
                                 "human_request")
# What a customer's message means as a move in the conversation, trained from `acts:`.
ACT_NAMES: tuple[str, ...] = (
    "yes",          # confirming: 對 / 是 / that's right
    "no",           # confirming: 不對 / not quite (no new facts)
    "correction",   # confirming: 不對，是… (a denial with the right facts)
    "first",        # offering: 第一個 / 換貨好了 / option 1
    "second",       # offering: 第二個 / 退款好了 / the refund
    "reject",       # offering: 都不要 / neither
    "human",        # 找真人 / a real person please
    "progress",     # 怎麼還沒 / where is my refund
    "thanks",       # 謝謝 / ok thanks
    "greeting",     # 你好 / hi
    "vague",        # a complaint without its story yet: 我要客訴 / I have a problem
    "resolved",     # follow-up: 解決了
    "partly",       # follow-up: 只解決一半
    "not_solved",   # follow-up: 還是壞的
    "addition",     # adding a fact or another problem: 還有… / 另外… / also, plus…
    "other",        # anything else (a telling, a question)
)
# Word lists used to read the customer's answers (canonical words, all locales merged).
INTENT_NAMES: tuple[str, ...] = (
    "yes",          # confirming: 對 / 沒錯 / yes
    "no",           # confirming: 不對 / 不是 / no / not quite
    "reject",       # offering: 不要 / 不接受 / no thanks
    "both",         # offering, with reject: 都 / 兩個 / both / neither / none
    "first",        # offering: 第一個 / 1 / first
    "second",       # offering: 第二個 / 2 / second
    "progress",     # committed: 進度 / 還要多久 / any update
    "thanks",       # 謝謝 / 好的 / thanks / ok
    "gratitude",    # 謝謝 / 感謝 / thank you: thanks that is thanked back (not a bare ok)
    "greeting",     # 你好 / 哈囉 / hi / hello
    "resolved",     # follow-up answer: 解決了 / solved
    "partly",       # follow-up answer: 部分 / partly
    "not_solved",   # follow-up answer: 沒有解決 / not solved
)

# Every text the bot says, with the placeholders each may use. The loader rejects an
# unknown key, a missing key or locale, and an unknown placeholder.
TEXT_KEYS: Mapping[str, frozenset[str]] = {
    # First reply of every case: the case number and when a person would answer.
    "ack": frozenset({"case_number", "first_response"}),
    # A greeting, a LINE follow or Telegram /start with no complaint in it.
    "greeting": frozenset(),
    # listening: a vague opening ("I have a problem"): one short question.
    "ask_more": frozenset(),
    # listening: still unclear after one question: ask once more, more concretely.
    "ask_more_again": frozenset(),
    # confirming: {empathy} is the category's empathy line; {summary} the restated
    # problem in the bot's voice; {feeling} the named feeling.
    "restate": frozenset({"empathy", "summary", "feeling"}),
    # the same when the customer accused us: {summary} ends with their doubt
    # (restate_doubt), so no second feeling is named.
    "restate_accused": frozenset({"empathy", "summary"}),
    # inside {summary}: the order number(s), named once at the end of the restatement.
    "restate_order": frozenset({"order"}),
    # inside {summary}: the item, when the telling as corrected no longer names it.
    "restate_item": frozenset({"item"}),
    # inside {summary}: "你們的/你們賣的 + product" becomes the item the customer received.
    "restate_yours": frozenset(),
    # {summary} when the customer said nothing factual (only venting): the problem named.
    "restate_topic": frozenset({"topic"}),
    # {summary} when nothing factual was said and no category is known.
    "restate_unclear": frozenset(),
    # inside {summary}: an accusation restated as the customer's experience. A dialog may
    # add `restate_doubt_<situation>` for a situation's own words.
    "restate_doubt": frozenset(),
    # appended to `restate` when no order number was given and the category wants one.
    "ask_order": frozenset(),
    # confirming -> listening after "not quite".
    "not_quite": frozenset(),
    # a correction we could not tell from what was understood: ask what differs.
    "not_quite_which": frozenset(),
    # before a new restatement: an order number just given, a correction, an addition.
    "noted_order": frozenset({"order"}),
    "noted_correction": frozenset(),
    "noted_more": frozenset(),
    # appended to a restatement after misunderstandings: a person is offered too.
    "restate_person": frozenset(),
    # after the second "not quite": offer a person (buttons human / try_again).
    "offer_person": frozenset(),
    # offering: the two remedies; {remedy_1}/{remedy_2} are the remedies' offer texts.
    "offer": frozenset({"remedy_1", "remedy_2"}),
    # offering: the customer turned the offer down once (not yet both).
    "offer_again": frozenset({"remedy_1", "remedy_2"}),
    # offering: an answer that is no choice: ask again briefly.
    "offer_unclear": frozenset(),
    # committed: what happens next.
    "committed": frozenset({"commitment", "due", "followup", "case_number"}),
    # committed, when this grade samples follow-ups and this case was not sampled.
    "committed_no_followup": frozenset({"commitment", "due", "case_number"}),
    # committed: the customer asked where things stand.
    "progress": frozenset({"case_number", "commitment", "due"}),
    # committed/closed: thanks.
    "thanks_reply": frozenset({"case_number"}),
    # committed: "ok", "好的", a greeting.
    "ok_reply": frozenset({"case_number"}),
    # committed: new facts were added to the record; where things stand.
    "noted": frozenset({"case_number", "commitment", "due"}),
    # committed: the customer chased after the due time passed: a person takes over.
    "handoff_overdue": frozenset({"summary", "first_response", "case_number", "team"}),
    # handoff: the customer wrote while waiting for a person (at most every 30 minutes);
    # {due} is when the team promised to answer by.
    "handoff_waiting": frozenset({"case_number", "team", "due"}),
    # handoff, a person already took the case.
    "handoff_waiting_claimed": frozenset({"case_number", "team"}),
    # handoff: restates, {team} contacts them within {first_response} (outside business
    # hours counted from when the team is back): a deadline, "明天（11/25，週三）中午 12 點前").
    "handoff": frozenset({"summary", "first_response", "case_number", "team"}),
    # handoff for safety cases (always urgent).
    # {advice} comes first: the situation's `advice` (stop using it, unplug it, see a
    # doctor), else `safety_advice`.
    "handoff_safety": frozenset({"summary", "first_response", "case_number", "team", "advice"}),
    "safety_advice": frozenset(),
    # handoff because the customer asked for a person.
    "handoff_requested": frozenset({"first_response", "case_number", "team"}),
    # nobody took the case within its first-response target: said once, honestly.
    "still_handling": frozenset({"case_number", "team"}),
    # a person resolved the case; {followup} is when we check back.
    "agent_resolved": frozenset({"case_number", "team", "followup"}),
    # a person handed the case back to confirm what was promised ({due}) and when we
    # check back ({followup}).
    "handback_confirm": frozenset({"commitment", "due", "followup", "case_number"}),
    # a person handed the case back to offer the two remedies again (after they spoke).
    "handback_offer": frozenset({"remedy_1", "remedy_2"}),
    # the case reopened: the same problem came back after a remedy was chosen.
    "reopen": frozenset({"case_number"}),
    # something that is not text (sticker, image): acknowledged, kept in the record.
    "non_text": frozenset(),
    # an empty message or only punctuation.
    "empty": frozenset(),
    # follow-up: recalls what was promised and asks if it is solved.
    "followup": frozenset({"case_number", "commitment", "summary"}),
    # follow-up answered "resolved": ask for a 1-5 rating.
    "ask_rating": frozenset(),
    # rating received: thanks, case closed; invites an optional remark.
    "rated": frozenset({"rating"}),
    # the optional remark after the rating was received.
    "remark_thanks": frozenset(),
    # follow-up answered "partly" / "not solved": a person takes over.
    "followup_not_solved": frozenset({"first_response", "case_number", "team"}),
    # what remedy placeholders become when the customer did not say (or did say) it:
    # {item} unknown; {size}/{colour} known ({value}: "M 號") or not; {difference}.
    "item_unknown": frozenset(),
    "size_known": frozenset({"value"}),
    "size_unknown": frozenset(),
    "colour_known": frozenset({"value"}),
    "colour_unknown": frozenset(),
    # {variant}: the size and colour said, together ("（M 號、黑色）", ", in size M and
    # black,"); nothing at all when neither was said.
    "variant_known": frozenset({"value"}),
    "difference_known": frozenset({"amount"}),
    "difference_unknown": frozenset(),
    # strftime-style is not used: {month} {day} {hour} {minute} {weekday}
    "datetime": frozenset({"month", "day", "hour", "minute"}),
    # Photos and files (bot/engine/evidence.py): a photo / another file kept with the case.
    "photo_kept": frozenset({"case_number"}),
    "file_kept": frozenset({"case_number"}),
    # refused: over the size limit ({limit}, e.g. "10 MB"), a type we do not keep, or the
    # platform no longer had it (or the download failed): what to send instead.
    "file_too_big": frozenset({"limit"}),
    "file_type": frozenset(),
    "file_gone": frozenset(),
    # listening, nothing told yet, only a photo: ask for the story in words.
    "evidence_ask": frozenset(),
    # a sticker: acknowledged, never stored.
    "sticker": frozenset(),
}

# Optional texts: a key with one of these prefixes, then a situation id, replaces the
# general text for that situation ("restate_doubt_suspected_fake").
OPTIONAL_TEXT_PREFIXES: Mapping[str, str] = {"restate_doubt_": "restate_doubt"}
# Texts a dialog may leave out (older files have none), with their placeholders.
OPTIONAL_TEXTS: Mapping[str, frozenset[str]] = {
    # `restate` when the empathy line already names the feeling ("…真的很掃興。"): the
    # restatement does not say it a second time. Without it, `restate` is used.
    "restate_named": frozenset({"empathy", "summary"}),
}
# Placeholders a remedy's label, offer and commitment may use; the engine fills them from
# what the customer said (the product named, its measure word, the size or colour they
# ordered, the price difference, the order number), else from the `*_unknown` texts.
REMEDY_PLACEHOLDERS: frozenset[str] = frozenset(
    {"item", "measure", "size", "colour", "variant", "difference", "order"})
# Measure words exist in Chinese only: {measure} in an English text is refused.
ZH_ONLY_PLACEHOLDERS: frozenset[str] = frozenset({"measure"})

# Button labels (each at most 20 characters: LINE's quick-reply limit).
BUTTON_KEYS: tuple[str, ...] = (
    "yes", "not_quite", "human", "try_again", "resolved", "partly", "not_solved",
)


@dataclass(frozen=True, slots=True)
class Localized:
    """A text per locale. `get()` falls back to the dialog's default locale."""

    values: Mapping[str, str]
    fallback: str = "zh-TW"

    def get(self, locale: str) -> str:
        return self.values.get(locale) or self.values[self.fallback]


@dataclass(frozen=True, slots=True)
class Grade:
    """A severity grade: first-response target and follow-up cadence."""

    name: str
    first_response: timedelta
    followup_after: timedelta        # first follow-up this long after the remedy is due
    followup_every: timedelta | None  # then repeat at this cadence until solved; None = once
    followup_sample: float           # share of cases that get a follow-up (minor: 0.2)


@dataclass(frozen=True, slots=True)
class Remedy:
    id: str
    label: Localized        # button label, <= 20 characters
    offer: Localized        # what, by when, compensation: shown when offering
    commitment: Localized   # told after it is chosen, recorded as the commitment
    due: timedelta          # the promise is due this long after it was chosen
    compensation: int       # NT$ value of any coupon or credit (0 for none)
    words: tuple[str, ...]  # canonical words that pick it in free text ("退款", "refund")


@dataclass(frozen=True, slots=True)
class Empathy:
    when: tuple[str, ...]   # canonical words; empty means the category's default line
    text: Localized


# Example messages per locale, as written (the model canonicalises them itself).
Examples = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Situation:
    """What happened inside a category (late, damaged, double charge…), learned from its
    examples; its own empathy, feeling and remedies where it has them."""

    id: str
    name: Localized
    examples: Examples
    empathy: Localized | None = None
    feeling: Localized | None = None
    remedies: Mapping[str, tuple[Remedy, Remedy]] | None = None
    advice: Localized | None = None   # what to do right now, said first in a safety handoff


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: Localized
    severity: str                     # the base grade
    keywords: tuple[str, ...]         # canonical; a keyword hit decides the category
    examples: Examples                # general examples that fit no one situation
    feeling: Localized                # "很困擾" / "frustrating"
    empathy: tuple[Empathy, ...]      # first whose `when` matches wins; default last
    remedies: Mapping[str, tuple[Remedy, Remedy]]  # per severity
    wants_order_number: bool = True
    situations: Mapping[str, Situation] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    weight: float
    severity: str | None                 # the grade at least, when it fires
    phrases: tuple[str, ...] = ()        # canonical phrases: a hit fires the signal
    params: Mapping[str, Any] = field(default_factory=dict)  # e.g. min_run, count
    examples: Examples = field(default_factory=dict)  # the learned part
    min_confidence: float = 0.5          # the learned part fires from this probability up


@dataclass(frozen=True, slots=True)
class UnderstandingRules:
    """How sure the model must be. Below `confidence` a telling gets `fallback_category`
    (and the bot asks a short question first when the story is vague)."""

    fallback_category: str = "other"
    confidence: float = 0.4
    act_confidence: float = 0.45


@dataclass(frozen=True, slots=True)
class Restatement:
    max_chars: int
    # Applied to the customer's words (in their own script) before restating. Pronoun
    # pairs turn "我" -> "您", "你們" -> "我們", "I" -> "you"; rewrites polish phrases.
    pronouns: Mapping[str, tuple[tuple[str, str], ...]]
    rewrites: Mapping[str, tuple[tuple[str, str], ...]]
    fillers: Mapping[str, tuple[str, ...]]   # words dropped: 啦, 欸, 齁, um
    # Example clauses that are venting (outbursts, insults, threats, greetings: never
    # restated) and facts (what happened: restated); a model learns the difference.
    venting: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    facts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Team:
    """Who takes over on handoff, and when they are at work (in the dialog's time zone)."""

    name: Localized
    days: frozenset[int]              # 0 = Monday
    opens: time
    closes: time
    holidays: frozenset[date]
    around_the_clock: frozenset[str]  # grades answered at any hour (e.g. urgent)
    canned: Mapping[str, Localized] = field(default_factory=dict)  # agents' canned replies


@dataclass(frozen=True, slots=True)
class FollowupRules:
    """How the bot calls back: never at night, never too often, and when to give up."""

    quiet_start: time = time(21, 0)   # no follow-up pushes from this time …
    quiet_end: time = time(9, 0)      # … until this time, in the dialog's time zone
    max_contacts: int = 2             # at most this many follow-ups per customer …
    per_days: int = 7                 # … in this many days
    retry_after: timedelta = timedelta(days=2)   # unanswered: one more try after this
    tries: int = 2                    # unanswered this many times: "no answer"


@dataclass(frozen=True, slots=True)
class ConsoleWords:
    """What the agent console calls things (severities, stages, signals, outcomes), its
    language, and the name of the team's time zone; parsed by `dialogs.console_words`."""

    locale: str | None = None         # None: the dialog's default locale
    zone: Localized | None = None     # "台北時間"
    names: Mapping[str, Mapping[str, Localized]] = field(default_factory=dict)


# A placeholder at the start of the text, of a line or after a sentence's end.
_SENTENCE_START = re.compile(r"(?:^|\n|[.!?]\s+)\{(\w+)\}")


@functools.lru_cache(maxsize=2048)
def _starting(template: str) -> tuple[str, ...]:
    return tuple(_SENTENCE_START.findall(template))


@dataclass(frozen=True, slots=True)
class Dialog:
    path: str
    digest: str                       # sha256 of the file: the live version
    name: str
    default_locale: str
    timezone: str                     # IANA name, e.g. Asia/Taipei
    risk_threshold: float
    order_number_pattern: str         # regex with one group: the order number
    grades: Mapping[str, Grade]
    categories: Mapping[str, Category]  # in file order; `other` is the fallback
    signals: Mapping[str, Signal]
    intents: Mapping[str, tuple[str, ...]]
    restatement: Restatement
    texts: Mapping[str, Localized]
    buttons: Mapping[str, Localized]
    products: tuple[str, ...] = ()    # canonical product words ("加溼器", "kettle")
    # locale -> canonical product word -> its measure word as written for that locale
    measure_words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    colours: tuple[str, ...] = ()     # canonical colour words ("黑色", "black")
    team: Team | None = None
    followups: FollowupRules = field(default_factory=FollowupRules)
    acts: Mapping[str, Examples] = field(default_factory=dict)
    ordinary: Examples = field(default_factory=dict)   # complaints no risk signal fires on
    understanding: UnderstandingRules = field(default_factory=UnderstandingRules)
    locales: tuple[str, ...] = LOCALES   # the locales every example list must cover
    labels: Mapping[str, Label] = field(default_factory=dict)   # offered to agents for cases
    console: ConsoleWords = field(default_factory=ConsoleWords)

    def text(self, key: str, locale: str, **values: object) -> str:
        """The text filled in. A value that starts a sentence of the text starts with a
        capital ("…right. {summary}" -> "The earbuds…"); elsewhere it is kept as it is
        ("(order {order})"). Scripts without capitals are not touched."""
        template = self.texts[key].get(locale)
        for name in _starting(template):
            value = values.get(name)
            if isinstance(value, str) and value[:1].islower() and \
                    not any(c.isupper() for c in value.split(" ", 1)[0]):   # iPhone, eBay
                values[name] = value[0].upper() + value[1:]
        return template.format(**values)

    def measure_word(self, product: str, locale: str) -> str | None:
        """The measure word for a product in a Chinese locale ("台" for 加濕器, "支" for
        口紅), in that locale's script; None for English or a product without one. The
        product may be written in either script; a word only the other Chinese locale
        lists is looked up there."""
        if not locale.startswith("zh"):
            return None
        word = canonical(product).strip()
        own = self.measure_words.get(locale, {})
        if word in own:
            return own[word]
        for other, words in self.measure_words.items():
            if other.startswith("zh") and word in words:
                found = words[word]
                return to_simplified(found) if locale == "zh-CN" else to_traditional(found)
        return None
