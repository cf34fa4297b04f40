"""The restatement: the customer's problem told back in the bot's voice.

A telling is cut into clauses. Each clause is read by the text model: venting (outbursts,
insults, threats, accusations without a fact, greetings) is never echoed, and an
accusation is restated as the customer's experience ("讓您懷疑不是正品"). The factual
clauses are kept once each (a story told twice is restated once), in the case's script,
fillers dropped, phrases polished and pronouns turned ("我" -> "您", "你們的口紅" ->
"您收到的口紅"; "I" -> "you", "from you" -> "from us"). Order numbers are taken out of the
clauses and named once at the end. English clauses keep their capitals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.case import SignalHit
from bot.details import Details, order_regex
from bot.normalize import canonical, in_script
from bot.signals import bigrams
from bot.understanding import Understanding, understand, venting
from dialogs.model import Dialog

_TAG = re.compile(r"<[^<>]{0,200}>")
# control characters and bidi overrides: the bot never says them back
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
# clause ends: Chinese and ASCII punctuation, a comma not inside a number, line breaks
CLAUSES = re.compile(r"[，。；！？!?;、\n~～…]+|,(?!\d)|\.(?!\d)(?:\s+|$)")
_SPACES = re.compile(r"[ \t]{2,}")
_CONTENT = re.compile(r"[^\W\d_]{2,}|[\u3400-\u9fff]{2}")
_DIGITS = re.compile(r"[0-9]+")
_EMPTY_BRACKETS = re.compile(r"[(（\[]\s*[)）\]]")
# what led up to an order number taken out: "from order", "in my order", "的訂單"
_ORDER_LEAD = re.compile(r"(?:\b(?:from|in|on|for|of|with|under)\s+(?:(?:my|the|your)\s+)?"
                         r"(?:order\s*)?|(?:的)?(?:訂單|订单)\s*)?\x00", re.IGNORECASE)
# an order number's own lead word, kept where the words before it need it ("the same order")
_ORDER_WORD = re.compile(r"^(?:訂單|订单|order)", re.IGNORECASE)
_NEEDS_NOUN = re.compile(r"(?:\b(?:the|same|this|that|one|another|each|an?|my|your|our)|的|"
                         r"這筆|这笔|同一筆|同一笔|那筆|那笔|這張|这张)\s*$", re.IGNORECASE)
_AFTER_PREPOSITION = re.compile(r"\b(?:from|in|on|for|of|with|under)\s+(?:(?:my|the|your)\s+)?$",
                                re.IGNORECASE)
_FEELING_PARTS = re.compile(r"又|、|和|\band\b|\bbut\b")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])")
_GENERIC_ORDER = re.compile(r"#\s?[A-Za-z]{0,4}\d{5,20}\b")
_CLAUSE_END = "，,。.;；、!?！？"
PLAINLY_VENTING = 0.8
TELLS = 0.6                                     # category share of a clause that tells the complaint
VENTING = 0.6                                   # the venting head's share that drops a clause
SHORT_ANSWERS = frozenset({"yes", "no", "thanks", "greeting"})
# a correction's opening denial of what was understood, when the right facts follow
_DENIAL = re.compile(r"^(?:不是|不對|不对|並不是|并不是|並非|并非"
                     r"|no\b|nope\b|not\b|it'?s not\b|it isn'?t\b)", re.IGNORECASE)
# the start of a correction's clause: "是湯灑了" restates as "湯灑了"
CORRECTION_LEAD = re.compile(r"^(?:(?:我的意思是|我是說|我是说|意思是)[，,\s]*|其實是|其实是|而是|應該是|"
                              r"应该是|是|(?:i mean|what i meant (?:is|was))\b[,\s]*)(?=..)",
                              re.IGNORECASE)
# a clause that starts with the customer ("我上週訂的包裹…") names its own subject
_OWN_SUBJECT = re.compile(r"^(?:我|I\b|my\b|we\b|our\b)", re.IGNORECASE)
NEVER_ECHOED = frozenset({"insult", "threat", "human_request"})
SAID_BEFORE = 0.75                              # clause similarity that counts as told already
# English clause openings that are not names: lower-cased inside a sentence
_LOWER_STARTS = frozenset((
    "a", "an", "the", "my", "your", "our", "his", "her", "their", "its", "it", "it's", "this",
    "that", "these", "those", "there", "they", "we", "you", "he", "she", "i", "after", "and",
    "but", "so", "then", "when", "while", "also", "just", "now", "today", "yesterday",
    "tonight", "last", "since", "still", "even",
))
_PAIRS: dict[tuple[str, str, str], tuple[re.Pattern[str], dict[str, str]] | None] = {}
_YOURS: dict[tuple[str, str], re.Pattern[str] | None] = {}
_GIST_LOCALES: dict[str, tuple[str, ...]] = {}
_LOWER_WORDS: dict[str, frozenset[str]] = {}
# a word inside a sentence (not after its end, a dash, a quote or a bracket), not a handle
_INSIDE = re.compile(r"(?<![@#\w'])([A-Za-z][a-z']*)\b")


@dataclass(frozen=True, slots=True)
class Telling:
    """What of a telling is restated: its factual clauses, and whether it accused us."""

    clauses: tuple[str, ...]
    accused: bool


def told(account: Sequence[str], dialog: Dialog, details: Details) -> Telling:
    """The factual clauses of the customer's messages, each once, in order."""
    kept: list[str] = []
    seen: list[frozenset[str] | set[str]] = []
    accused = False
    for message in account:
        text = _CONTROL.sub(" ", _TAG.sub(" ", message))
        raws = [r.strip() for r in CLAUSES.split(text) if r.strip()]
        for n, raw in enumerate(raws):
            clause = _without_orders(raw, dialog, details)
            if not _CONTENT.search(clause):
                continue
            if n == 0 and len(raws) > 1 and _DENIAL.match(clause):
                continue                            # "不是沒到，是到了但…": what it is not
            read = understand(raw, dialog)
            if read.act.act in SHORT_ANSWERS and len(read.canonical) <= 8:
                continue                            # "不對", "對啊", "no," inside a telling
            names = {s.name for s in read.signals}
            accusing = _accusing(read, dialog)
            accused = accused or "accusation" in names
            if names & NEVER_ECHOED or accusing or _venting(raw, read, dialog):
                continue
            clause = CORRECTION_LEAD.sub("", clause) or clause
            pairs = bigrams(_gist(clause, dialog))
            if any(_said_before(pairs, s) for s in seen):
                continue
            seen.append(pairs)
            kept.append(clause)
    return Telling(tuple(kept), accused)


def _said_before(pairs: frozenset[str] | set[str], earlier: frozenset[str] | set[str]) -> bool:
    """Most of one clause's character pairs are in the other: the same thing told again."""
    if not pairs or not earlier:
        return False
    return len(pairs & earlier) / min(len(pairs), len(earlier)) >= SAID_BEFORE


def _accusing(read: Understanding, dialog: Dialog) -> bool:
    """The clause accuses us: the accusation's own words ("騙子", "you scammed me"), or the
    model's hunch when it holds without the emphasis ("你們賣的耳機根本就是假貨"); a plain
    fact said with emphasis ("你們的口紅根本不顯色") is kept, the doubt said after it."""
    for hit in read.signals:
        if hit.name == "accusation":
            if not any(w.startswith("~") for w in hit.words):
                return True
            plain = understand(_gist(read.text, dialog), dialog)
            return any(h.name == "accusation" for h in plain.signals)
    return False


def _gist(clause: str, dialog: Dialog) -> str:
    """A clause without fillers and emphasis (the restatement's fillers and rewrites of
    every locale: "真的", "根本", "really"), to compare clauses ("左耳真的沒聲音" is
    "左耳沒聲音" told again) and to read what is left."""
    text = canonical(clause)
    for locale in _gist_locales(dialog):
        text = _polished(text, locale, dialog)
    return _SPACES.sub(" ", text).strip()


def _gist_locales(dialog: Dialog) -> tuple[str, ...]:
    """The locales with fillers or rewrites, in one order for the dialog version."""
    found = _GIST_LOCALES.get(dialog.digest)
    if found is None:
        found = _GIST_LOCALES[dialog.digest] = tuple(
            {*dialog.restatement.fillers, *dialog.restatement.rewrites})
    return found


def _polished(text: str, locale: str, dialog: Dialog) -> str:
    """The locale's fillers dropped and its rewrites applied."""
    text = _swap(text, _pairs_pattern(dialog, "fillers", locale))
    return _swap(text, _pairs_pattern(dialog, "rewrites", locale))


def _venting(raw: str, read: Understanding, dialog: Dialog) -> bool:
    """Venting by the model's reading; a clause that clearly tells the complaint on its
    own ("店員態度很差") is kept unless it is plainly venting."""
    score = venting(raw, dialog)
    if score >= PLAINLY_VENTING:
        return True
    return score >= VENTING and (read.category is None or read.category_score < TELLS)


def _without_orders(clause: str, dialog: Dialog, details: Details) -> str:
    """The clause with its order numbers taken out (they are named once, at the end) and
    its spacing tidied (none left between Chinese characters)."""
    out = order_regex(dialog.order_number_pattern).sub(_order_mark, clause)
    out = _GENERIC_ORDER.sub("\x00", out)
    for number in details.order_numbers:
        # its digits match only themselves: without them here, nothing to compile and seek
        if all(run in out for run in _DIGITS.findall(number)):
            out = re.sub(re.escape(number), "\x00", out, flags=re.IGNORECASE)
    if "\x00" in out:                              # _ORDER_LEAD ends in the mark
        out = _ORDER_LEAD.sub(" ", out).replace("\x00", " ")
    out = _EMPTY_BRACKETS.sub(" ", _CJK_SPACE.sub("", out.replace("\x03", "")))
    out = _SPACES.sub(" ", out).strip(" ，,。.:：#")
    return out.removeprefix("的").strip()


def _order_mark(found: re.Match[str]) -> str:
    """An order number's place, marked; "the same order M555" keeps its "order"."""
    word = _ORDER_WORD.match(found.group(0))
    if word is not None and _NEEDS_NOUN.search(found.string, 0, found.start()) and \
            not _AFTER_PREPOSITION.search(found.string, 0, found.start()):  # "from my order"
        return word.group(0) + "\x03"
    return "\x00"


@dataclass(frozen=True, slots=True)
class Restated:
    """The restatement, and whether the telling accused us (then it ends with the
    customer's doubt, and no second feeling is named after it)."""

    text: str
    accused: bool


def restate(account: Sequence[str], locale: str, dialog: Dialog, details: Details,
            situation: str | None = None, category: str | None = None) -> str:
    """The customer's telling in the bot's voice, without the closing punctuation."""
    return restated(account, locale, dialog, details, situation, category).text


def restated(account: Sequence[str], locale: str, dialog: Dialog, details: Details,
             situation: str | None = None, category: str | None = None) -> Restated:
    """`restate`, with whether the telling accused us, from one reading of the telling."""
    telling = told(account, dialog, details)
    english = locale == "en"
    parts = [_voiced(c, locale, dialog) for c in telling.clauses]
    parts = [p for p in parts if p]
    told_canon = canonical(" ".join(telling.clauses))
    if parts and details.products and not _OWN_SUBJECT.match(telling.clauses[0]) and \
            not any(canonical(p) in told_canon for p in details.products):
        # a correction that does not name the item ("不是沒到，是到了但刷頭斷了")
        item = in_script(details.products[0], locale)
        parts[0] = dialog.text("restate_item", locale, item=item) + parts[0]
    text = ("; " if english else "，").join(parts)
    if not text:
        text = _topic(dialog, locale, category, situation)
    if telling.accused:
        text += (", " if english else "，") + _doubt(dialog, locale, situation)
    if details.order_numbers:
        text += dialog.text("restate_order", locale, order=", ".join(details.order_numbers))
    return Restated(_clip(text, dialog.restatement.max_chars), telling.accused)


def _voiced(clause: str, locale: str, dialog: Dialog) -> str:
    text = _polished(in_script(clause, locale), locale, dialog)
    yours = _yours_pattern(dialog, locale)
    if yours is not None:
        text = yours.sub("\x01", text)             # put back after the pronouns turned
    text = _swap(text, _pairs_pattern(dialog, "pronouns", locale))
    text = text.replace("\x01", dialog.text("restate_yours", locale))
    text = _SPACES.sub(" ", text).strip(" ，,。.;；").lstrip("-–—•* ")
    if locale == "en" and text:
        first = text.split(" ", 1)[0]
        word = first.lower()
        if first != "I" and not first.startswith("I'") and first[1:] == first[1:].lower() \
                and (word in _LOWER_STARTS or word in _lower_words(dialog)):
            text = text[0].lower() + text[1:]
    return text


def _lower_words(dialog: Dialog) -> frozenset[str]:
    """English words the dialog's examples write in lower case inside a sentence (at least
    twice, never capitalised there): a customer's "Charged it overnight" opens with one,
    "Amazon" or "Google" does not. The restatement runs clauses on, so such a word is
    lower-cased; a dialog template that starts a sentence with it capitalises it again."""
    found = _LOWER_WORDS.get(dialog.digest)
    if found is None:
        lower: dict[str, int] = {}
        upper: set[str] = set()
        for text in _english_examples(dialog):
            for m in _INSIDE.finditer(text):
                before = text[:m.start()].rstrip()
                if before and before[-1] not in '.!?-–—\n"“(':
                    word = m.group(1)
                    if word.islower():
                        lower[word] = lower.get(word, 0) + 1
                    else:
                        upper.add(word.lower())
        found = _LOWER_WORDS[dialog.digest] = frozenset(
            w for w, n in lower.items() if n >= 2 and w not in upper)
    return found


def _english_examples(dialog: Dialog) -> Iterator[str]:
    for category in dialog.categories.values():
        yield from category.examples.get("en", ())
        for situation in category.situations.values():
            yield from situation.examples.get("en", ())
    for examples in (*dialog.acts.values(), dialog.ordinary,
                     *(s.examples for s in dialog.signals.values())):
        yield from examples.get("en", ())


def _yours_pattern(dialog: Dialog, locale: str) -> re.Pattern[str] | None:
    """"你們的 / 你們賣的 + a product": the item the customer received, not "our" item
    (the bot would otherwise agree that "our lipstick is fake")."""
    key = (dialog.digest, locale)
    if key not in _YOURS:
        words = {in_script(p, locale) for p in dialog.products}
        if locale == "en" or not words:
            _YOURS[key] = None
        else:
            items = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            _YOURS[key] = re.compile(
                rf"(?:你們|你们|妳們|妳们)家?(?:賣|卖|寄來|寄来|寄|出|給|给)?的(?=(?:{items}))")
    return _YOURS[key]


def _topic(dialog: Dialog, locale: str, category: str | None, situation: str | None) -> str:
    """Nothing factual was said (only venting): name the problem by its situation."""
    found = dialog.categories.get(category or "")
    if found is None:
        return dialog.text("restate_unclear", locale)
    known = found.situations.get(situation or "")
    name = (known.name if known is not None else found.name).get(locale)
    return dialog.text("restate_topic", locale, topic=name)


def _doubt(dialog: Dialog, locale: str, situation: str | None) -> str:
    """An accusation restated as the customer's experience: the situation's own words
    where the dialog has them ("restate_doubt_suspected_fake"), else the general ones."""
    key = f"restate_doubt_{situation}"
    return dialog.text(key if situation and key in dialog.texts else "restate_doubt", locale)


def _pairs(dialog: Dialog, kind: str, locale: str) -> Sequence[tuple[str, str]]:
    """The restatement's word pairs of one kind (fillers are dropped: paired with "")."""
    rules = dialog.restatement
    if kind == "fillers":
        return [(f, "") for f in rules.fillers.get(locale, ())]
    return (rules.rewrites if kind == "rewrites" else rules.pronouns).get(locale, ())


def _pairs_pattern(dialog: Dialog, kind: str,
                   locale: str) -> tuple[re.Pattern[str], dict[str, str]] | None:
    key = (dialog.digest, kind, locale)
    if key not in _PAIRS:
        table = {a.lower(): b for a, b in _pairs(dialog, kind, locale) if a}
        if not table:
            _PAIRS[key] = None
        else:
            alternatives = []
            for word in sorted(table, key=len, reverse=True):
                escaped = re.escape(word)
                alternatives.append(rf"\b{escaped}\b" if word.isascii() else escaped)
            _PAIRS[key] = (re.compile("|".join(alternatives), re.IGNORECASE), table)
    return _PAIRS[key]


def _swap(text: str, found: tuple[re.Pattern[str], dict[str, str]] | None) -> str:
    if found is None:
        return text
    pattern, table = found
    return pattern.sub(lambda m: table[m.group(0).lower()], text)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = max(text.rfind(c, 0, limit) for c in _CLAUSE_END)
    if cut >= limit // 2:
        return text[:cut] + "…"
    return text[: limit - 1] + "…"


def empathy_line(category: str, canonical_text: str, locale: str, dialog: Dialog,
                 situation: str | None = None) -> str:
    """The situation's empathy line; else the category's first line whose words occur;
    else its default line."""
    found = dialog.categories[category]
    known = found.situations.get(situation or "")
    if known is not None and known.empathy is not None:
        return known.empathy.get(locale)
    for line in found.empathy:
        if line.when and any(word in canonical_text for word in line.when):
            return line.text.get(locale)
    default = next((line for line in found.empathy if not line.when), None)
    return default.text.get(locale) if default else ""


def names_feeling(line: str, feeling: str) -> bool:
    """Whether an empathy line already says the feeling ("…真的很掃興。" and 很掃興, "That's
    really frustrating." and "really frustrating"): then it is not said again right after."""
    return any(part in line.lower() for part in feeling_words(feeling))


def feeling_words(feeling: str) -> tuple[str, ...]:
    """The words that say a feeling: "又擔心又著急" -> 擔心, 著急; "a worrying wait" ->
    "worrying wait", "worrying"; "很掃興" -> 掃興."""
    core = feeling.strip().lower()
    for lead in ("很", "a ", "an ", "really "):
        core = core.removeprefix(lead)
    if not core:
        return ()
    parts = [core, *(p for p in _FEELING_PARTS.split(core) if len(p) >= 2)]
    first = core.split(" ", 1)[0].strip(",")
    if first.endswith("ing") and first != core:     # "worrying" in "a worrying wait"
        parts.append(first)
    return tuple(dict.fromkeys(parts))


def feeling(category: str, signals: Sequence[SignalHit], locale: str, dialog: Dialog,
            situation: str | None = None) -> str:
    """The feeling the restatement names: the situation's ("等得很焦急"), else the
    category's ("很困擾" / "frustrating")."""
    found = dialog.categories[category]
    known = found.situations.get(situation or "")
    if known is not None and known.feeling is not None:
        return known.feeling.get(locale)
    return found.feeling.get(locale)
