"""What the text model sees in a message: characters, words and a few shapes.

Features are strings, so every weight the model learns can be shown to an admin:
- Chinese: single characters, character pairs and triples (`c:頭髮`), and words cut by
  jieba (`w:拉肚子`). jieba's dictionary is Simplified, so it cuts the Simplified form and
  the words are read back from the canonical (Traditional) text at the same places.
- English and other Latin text: words and word pairs (`w:refund`, `w:my bag`) and the
  pieces of words (`c:<scam`), so `scammers` still shares weight with `scam`.
- Shapes: runs of `!`/`?`, a lone digit ("1" picks a remedy), the length of the message.

The text is `bot.normalize.canonical()` text; only the first FEATURE_LIMIT characters
are read.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from bot.normalize import to_simplified

FEATURE_LIMIT = 1000
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z]+(?:['’][a-z]+)?|\d+")
_SHOUT = re.compile(r"[!！]{2,}")
_ASK = re.compile(r"[?？]")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> Any:
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def _han_features(text: str, out: list[str]) -> None:
    runs = [(m.start(), m.group(0)) for m in _HAN.finditer(text)]
    if not runs:
        return
    for _, run in runs:
        n = len(run)
        out.extend("c:" + ch for ch in run)
        out.extend("c:" + run[i:i + 2] for i in range(n - 1))
        out.extend("c:" + run[i:i + 3] for i in range(n - 2))
    simplified = to_simplified(text)
    same_places = len(simplified) == len(text)
    for word, start, end in _words(simplified):
        if end - start > 1 and _HAN.fullmatch(word):
            out.append("w:" + (text[start:end] if same_places else word))


def _words(simplified: str) -> Iterator[tuple[str, int, int]]:
    """What `jieba.tokenize(simplified, HMM=False)` gives for the blocks of Chinese it
    cuts (the rest is cut into single characters). jieba cuts each block on its own, so
    the cuts are remembered per block: a clause of the restatement is read right after
    the message it came from, and shares its blocks."""
    blocks = _jieba().re_han_default
    start = 0
    for block in blocks.split(simplified):
        if block and blocks.match(block):
            at = start
            for word in _cut(block):
                yield word, at, at + len(word)
                at += len(word)
        start += len(block)


@lru_cache(maxsize=16384)
def _cut(block: str) -> tuple[str, ...]:
    """jieba's words of one block. jieba's dictionary is never changed at run time (a
    word added with `jieba.add_word` would need `_cut.cache_clear()`)."""
    return tuple(_jieba().cut(block, HMM=False))


def _latin_features(text: str, out: list[str]) -> None:
    words = []
    for word in _LATIN.findall(text):
        if word.isdigit():
            word = word if len(word) == 1 else "<num>"
        words.append(word.replace("’", "'"))
    out.extend("w:" + w for w in words)
    out.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
    for word in words:
        if len(word) < 3 or word == "<num>":
            continue
        marked = f"<{word}>"
        for size in (3, 4, 5):
            out.extend("c:" + marked[i:i + size] for i in range(len(marked) - size + 1))


def _shape_features(text: str, out: list[str]) -> None:
    if _SHOUT.search(text):
        out.append("s:!!")
    if _ASK.search(text):
        out.append("s:?")
    if _EMOJI.search(text):
        out.append("s:emoji")
    size = len(text.strip())
    out.append("s:len" + ("1" if size <= 2 else "2" if size <= 6 else "3" if size <= 15
                          else "4" if size <= 40 else "5"))


@lru_cache(maxsize=32768)
def features(canonical_text: str) -> tuple[str, ...]:
    """The distinct features of one canonical text, in a stable order."""
    text = canonical_text[:FEATURE_LIMIT]
    out: list[str] = []
    _han_features(text, out)
    if re.search(r"[a-z0-9]", text):
        _latin_features(text, out)
    _shape_features(text, out)
    return tuple(dict.fromkeys(out))


def readable(feature: str) -> str:
    """A feature as an admin reads it: the characters or words themselves."""
    kind, _, value = feature.partition(":")
    if kind == "c":
        return value.strip("<>")
    return value
