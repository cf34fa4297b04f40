"""A correction that puts one part of the telling right, read into the telling.

Customers answer "did I get that right?" by naming only what was wrong: "不是一個禮拜，是兩個
禮拜", "Actually it was three times, not twice", or just the right part again ("我等了兩個
禮拜"). Told back on its own, such a correction is a fragment ("兩個禮拜") and the problem
itself is lost. So a correction that names what is wrong and what is right has the right
words put in where the wrong ones were; one that tells a clause again replaces that clause;
a short detail with no complaint of its own is added. Only a correction that tells the
problem anew replaces the whole telling (`amend` returns None).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.normalize import canonical
from bot.restate import CLAUSES, CORRECTION_LEAD
from bot.signals import bigrams
from bot.understanding import classify
from dialogs.model import Dialog

_STOP = r"[，,。；;！!？?\n]"
# what a correction opens with before its facts: the denial itself and discourse words
_OPENING = re.compile(
    r"^(?:\s|[，,。.!！:：、-])*(?:(?:不對|不对|不太對|不太对|不是這樣|不是这样|錯了|错了|"
    r"其實|其实|應該說|应该说|我是說|我是说|我的意思是|更正|抱歉|"
    r"no\b|nope\b|not quite\b|actually\b|sorry\b|well\b|i mean\b|correction\b|"
    r"what i meant (?:is|was)\b|to be clear\b)(?:\s|[，,。.!！:：、-])*)+", re.IGNORECASE)
# "不是 Y，是 X" / "X，不是 Y"; "not Y but X" / "X, not Y" / "X instead of Y"
_PAIRS = (   # (a word the pattern needs, the pattern): it is searched only where the word is
    ("不是", re.compile(rf"不是(?P<y>[^，,。；;！!？?\n]{{1,20}}?){_STOP}*\s*(?:而|其實|其实|應該|应该)?是"
                      rf"(?P<x>[^。；;！!？?\n]{{1,40}})")),
    ("不是", re.compile(rf"(?P<x>[^，,。；;！!？?\n]{{1,40}}?){_STOP}*\s*(?:而)?不是"
                      rf"(?P<y>[^，,。；;！!？?\n]{{1,20}})")),
    ("not ", re.compile(r"\bnot (?P<y>[^,.;!?\n]{1,40}?)(?:\s*[,;]?\s*(?:but (?:rather )?|rather |"
                        r"it'?s |it was |it is |they were |there were )|\s*[,;]\s*)"
                        r"(?P<x>[^.;!?\n]{1,80})", re.IGNORECASE)),
    ("not ", re.compile(r"(?P<x>[^,.;!?\n]{1,80}?)\s*[,;]?\s*(?:and |but )?not "
                        r"(?P<y>[^,.;!?\n]{1,40})", re.IGNORECASE)),
    ("instead of ", re.compile(r"(?P<x>[^,.;!?\n]{1,80}?)\s+instead of (?P<y>[^,.;!?\n]{1,40})",
                               re.IGNORECASE)),
)
_TRIM = " ，,。.;；:：!！?？啦啊喔哦呢吧的了"
_PUNCT = " ，,。.;；:：!！?？"
_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER = (r"(?:\d+(?:[.,]\d+)?|[一二兩两三四五六七八九十百千半幾几]+|an?|one|two|three|four|five|six|"
           r"seven|eight|nine|ten|several|a few|a couple of)")
_AMOUNT = re.compile(
    rf"(?P<money>(?:NT\$|US\$|\$|€|£|¥)\s?\d+(?:[.,]\d+)?)"
    rf"|(?P<times>\b(?:once|twice|thrice)\b)"
    rf"|{_NUMBER}\s*(?:個|个)?\s*(?P<unit>天|日|禮拜|礼拜|星期|週|周|個月|个月|月|年|小時|小时|分鐘|分钟|"
    rf"次|遍|件|個|个|台|支|瓶|盒|包|箱|元|塊|块|"
    rf"(?:days?|weeks?|months?|years?|hours?|minutes?|times|items?|pieces?|boxes|"
    rf"bottles?|dollars?|bucks)\b)", re.IGNORECASE)
_MONEY = ("元", "塊", "块", "dollar", "dollars", "buck", "bucks")
_UNITS = {
    "time": ("天", "日", "禮拜", "礼拜", "星期", "週", "周", "個月", "个月", "月", "年", "小時",
             "小时", "分鐘", "分钟", "day", "week", "month", "year", "hour", "minute"),
    "count": ("次", "遍", "once", "twice", "thrice", "times"),
    "items": ("件", "個", "个", "台", "支", "瓶", "盒", "包", "箱", "item", "piece", "box", "bottle"),
}
_WORDS = re.compile(r"[^\W_]")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
_MARKED = re.compile(r"\b(?:actually|in fact)\b|其實|其实|應該是|应该是|更正", re.IGNORECASE)
SHORT_CJK, SHORT_WORDS = 6, 3    # a replacement this short is a word or two, not a clause
AMOUNT_LIMIT = 30            # characters: a correction about one amount is short
SAME_CLAUSE = 0.5            # share of a clause's character pairs that makes it the one retold
DETAIL_LIMIT = 40            # characters: a longer correction with no complaint is told anew
TELLS = 0.5                  # the category's confidence that makes a correction a new telling


def amend(before: Sequence[str], correction: str, dialog: Dialog,
          told: bool = True) -> list[str] | None:
    """The telling `before` with `correction` read into it; None when the correction tells
    the problem anew (it then replaces the telling). `told`: the message tells something
    (the engine noted it), so a short one may be added as a detail; a bare answer ("not
    x, not x") only ever puts a part right."""
    rest = _OPENING.sub("", correction).strip()
    if not before or not _WORDS.search(rest):       # "...": nothing to read in
        return None
    story = list(before)
    pair = _pair(rest)
    if pair is not None:
        right, wrong = pair
        put = _put_right(story, wrong, right)
        if put is not None:
            return put
    swapped = _swapped(story, rest)
    if swapped is not None:
        return swapped
    retold = _retold(story, rest)
    if retold is not None:
        return retold
    decision = classify(canonical(rest), dialog)
    if told and len(rest) <= DETAIL_LIMIT and (decision.category is None or decision.by ==
                                               "fallback" or decision.confidence < TELLS):
        return [*story, rest]                     # "是昨天買的": a detail of the same story
    return None


def corrects(before: Sequence[str], message: str) -> bool:
    """The message names something the telling said as wrong ("…, not a week"), so it is a
    correction whatever else it reads as."""
    rest = _OPENING.sub("", message).strip()
    pair = _pair(rest)
    if pair is not None and any(_last(m, pair[1]) >= 0 for m in before):
        return True
    opened = len(rest) < len(message.strip())          # "不對，是五天", "actually, …"
    return bool(rest) and _swapped(list(before), rest, anchored=not opened and
                                   _MARKED.search(message) is None) is not None


def _pair(text: str) -> tuple[str, str] | None:
    """(what is right, what was wrong) when the correction (its opening taken off) names
    both."""
    low = text.lower()
    for word, pattern in _PAIRS:
        found = pattern.search(text) if word in low else None
        if found is not None:
            right = _OPENING.sub("", found.group("x")).strip(_TRIM)
            wrong = found.group("y").strip(_TRIM)
            if right and wrong and right.lower() != wrong.lower():
                return right, wrong
    return None


def _put_right(told: list[str], wrong: str, right: str) -> list[str] | None:
    """The right words where the wrong ones were (their last mention); None when the telling
    never said them."""
    for i in range(len(told) - 1, -1, -1):
        at = _last(told[i], wrong)
        if at < 0:
            continue
        message = told[i]
        start, end = _clause_around(message, at, at + len(wrong))
        phrase = _aligned(message[start:at], right)
        number = _DIGITS.search(right) if _DIGITS.fullmatch(wrong) else None
        if number is not None and not _short(right):     # "3 of them are broken, not 2"
            told[i] = message[:at] + number.group(0) + message[at + len(wrong):]
        elif phrase != right:            # the clause told again from the shared words on
            told[i] = message[:at] + phrase + message[end:]
        else:
            after = at + len(wrong)
            shared = _shared_end(message[after:end], right)   # "是外殼刮花" for "內鍋塗層刮花"
            if _short(right) or shared:   # "不是左耳，是右耳": the words alone, up to what
                told[i] = message[:at] + right + message[after + shared:]   # they say again
            else:                         # another clause in its place
                told[i] = message[:start] + right + message[end:]
        return told
    return None


def _clause_around(message: str, start: int, end: int) -> tuple[int, int]:
    """Where the clause holding message[start:end] begins and ends (the restatement's own
    clause breaks, `CLAUSES`)."""
    begins, ends = 0, len(message)
    for found in CLAUSES.finditer(message):
        if found.end() <= start:
            begins = found.end()
        elif found.start() >= end:
            ends = found.start()
            break
    return begins, ends


def _shared_end(rest: str, right: str) -> int:
    """How much of what followed the wrong words the right ones say again at their end
    ("內鍋" -> "外殼刮花" in "內鍋塗層刮花了": up to "刮花"), 0 when nothing."""
    low, right = rest.lower(), right.lower()
    if _CJK.search(right):
        tails = [right[-size:] for size in range(len(right) - 1, 1, -1)]
    else:
        words = right.split()
        tails = [" ".join(words[-size:]) for size in range(len(words) - 1, 0, -1)]
    for tail in tails:                     # the longest end of `right` found after them
        at = low.find(tail)
        if at >= 0:
            return at + len(tail)
    return 0


def _last(message: str, words: str) -> int:
    """Where `words` last occur in the message (a number only as a whole: "2" is not in
    "A12345"), or -1."""
    if not _DIGITS.fullmatch(words):
        return message.lower().rfind(words.lower())
    found = [m.start() for m in re.finditer(rf"(?<![\w.,]){re.escape(words)}(?![\w])", message)]
    return found[-1] if found else -1


def _short(words: str) -> bool:
    return len(words) <= SHORT_CJK if _CJK.search(words) else len(words.split()) <= SHORT_WORDS


def _aligned(lead: str, right: str) -> str:
    """What of `right` replaces the wrong words: after the words it shares with what led up
    to them ("I was charged" + "three times"; "已經等了" + "兩個禮拜"), or all of it."""
    lead = lead.strip()
    if not lead:
        return right
    low = right.lower()
    if _CJK.search(lead):
        for size in range(len(lead), 1, -1):             # the longest end of the lead
            at = low.find(lead[-size:].lower())
            if at >= 0 and right[at + size:].strip():
                return right[at + size:].strip(_PUNCT)
        return right
    words = lead.split()
    for size in range(len(words), 0, -1):
        tail = " ".join(words[-size:]).lower()
        at = low.find(tail)
        if at >= 0 and (at == 0 or not low[at - 1].isalnum()) and right[at + len(tail):].strip():
            return right[at + len(tail):].strip(_PUNCT)
    return right


def _swapped(told: list[str], rest: str, anchored: bool = False) -> list[str] | None:
    """A short correction about an amount ("是用了一個月", "it was 3 times") puts right the
    telling's last amount of the same kind: a time, a count, money or items (`anchored`:
    only one led up to by the same word, "等了一個禮拜" for "我等了兩個禮拜")."""
    if len(rest) > AMOUNT_LIMIT:
        return None
    new = [(m, _kind(m)) for m in _AMOUNT.finditer(rest)]
    new = [(m, k) for m, k in new if k is not None]
    if len(new) != 1:
        return None
    right, kind = new[0]
    anchor = _anchor(rest[:right.start()])
    for i in range(len(told) - 1, -1, -1):
        olds = [m for m in _AMOUNT.finditer(told[i]) if _kind(m) == kind]
        if olds:
            led = [m for m in olds if anchor and _anchor(told[i][:m.start()]) == anchor]
            if anchored and not led:
                return None
            old = (led or olds)[-1]
            if old.group(0).lower() == right.group(0).lower():
                return None
            told[i] = told[i][:old.start()] + right.group(0).strip() + told[i][old.end():]
            return told
    return None


def _anchor(before: str) -> str:
    """The word that leads up to an amount ("訂了" in "訂了三件", "charged" in "charged
    twice"), to tell which of several amounts a correction is about."""
    before = before.rstrip().lower()
    if _CJK.search(before[-1:]):
        return before[-2:]
    words = before.split()
    return words[-1] if words else ""


def _kind(found: re.Match[str]) -> str | None:
    unit = (found.group("unit") or found.group("times") or "").lower()
    if found.group("money") or unit in _MONEY:
        return "money"
    for kind, units in _UNITS.items():
        if any(unit.startswith(u) for u in units):
            return kind
    return None


def _retold(told: list[str], rest: str) -> list[str] | None:
    """The correction's clauses (its opening taken off) in place of the clauses they tell
    again ("我等了兩個禮拜" for "已經等了一個禮拜"); None unless every clause of it tells
    one again."""
    clauses = [c.strip() for c in CLAUSES.split(rest) if c.strip()]
    if not clauses:
        return None
    places = [((i, c), bigrams(canonical(c)))
              for i, m in enumerate(told) for c in (p.strip() for p in CLAUSES.split(m)) if c]
    swaps: dict[tuple[int, str], str] = {}
    for clause in clauses:
        mine = bigrams(canonical(clause))
        best, score = None, 0.0
        for place, theirs in places:
            if mine and theirs:
                shared = len(mine & theirs) / min(len(mine), len(theirs))
                if shared > score:
                    best, score = place, shared
        if best is None or score < SAME_CLAUSE or best in swaps:
            return None
        swaps[best] = clause
    for (i, old), new in swaps.items():
        told[i] = told[i].replace(old, _fitted(old, new), 1)
    return told


def _fitted(old: str, new: str) -> str:
    """A shorter retelling that only changes how the clause ends ("兩個禮拜" for "已經等了一個
    禮拜") keeps the clause's start: "已經等了兩個禮拜"."""
    new = CORRECTION_LEAD.sub("", new) or new
    if len(new) >= len(old) or not _CJK.search(new):
        return new
    same = 0
    while same < len(new) and old[-1 - same] == new[-1 - same]:
        same += 1
    changed, kept = new[:len(new) - same], old[:len(old) - len(new)]
    if same >= 2 and changed and not bigrams(changed) & bigrams(old[:len(old) - same]):
        return kept + new
    return new
