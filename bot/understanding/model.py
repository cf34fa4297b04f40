"""A trained text model, exported: one weight table scored in plain Python and NumPy.

All heads share one vocabulary and one matrix `weights[feature, column]`:
- `category`: one column per situation (`logistics/late`), per category's general
  examples (`logistics/`) and `none` (not a complaint); each class against the rest.
- `act`: one column per dialog act; each against the rest.
- `signal:<name>`: one column per learned risk signal; sigmoid.
A message is a set of features, each weighted by how rare it was in training (idf, folded
into the rows) and scaled to unit length, so a score is the sum of its features' rows:
cheap, and every part of it can be shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from bot.understanding.features import features, readable

TOP_FEATURES = 5


@dataclass(frozen=True, slots=True)
class Head:
    name: str                   # "category", "act", "signal:threat"
    columns: tuple[str, ...]    # class labels; one column for a binary head
    start: int                  # first column in the shared matrix
    binary: bool = False


@dataclass(frozen=True, slots=True)
class Pushed:
    """A feature that pushed a decision, with its share of the score."""

    text: str          # as an admin reads it: the characters or words themselves
    weight: float

    def as_dict(self) -> dict[str, object]:
        return {"feature": self.text, "weight": round(self.weight, 3)}


@dataclass(slots=True)
class Scores:
    """A message scored by every head. `index` are the known features' rows; `each` is
    every column's own probability (sigmoid), computed once."""

    index: np.ndarray
    scale: float
    raw: np.ndarray
    each: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.each = 1.0 / (1.0 + np.exp(-np.clip(self.raw, -30.0, 30.0)))


@dataclass
class Examples:
    """Every training message and its features (a 0/1 matrix, one row a message), kept so
    the nearest example to a message is found without reading the examples again."""

    texts: tuple[str, ...]
    present: sparse.csr_matrix

    def __post_init__(self) -> None:
        self.row = {text: i for i, text in enumerate(self.texts)}


@dataclass
class TextModel:
    """The exported model. `examples[label]` are the training messages of each class and
    `known` their features (for the nearest example); `digest` names the training data."""

    digest: str
    vocabulary: dict[str, int]
    weights: np.ndarray            # float32, features x columns
    bias: np.ndarray               # float32, columns
    heads: dict[str, Head]
    idf: np.ndarray                # float32, features: how much each feature says
    examples: Mapping[str, Sequence[str]]
    known: Examples
    training_seconds: float = 0.0
    _example_features: dict[str, tuple[sparse.csc_matrix, np.ndarray]] = field(
        default_factory=dict)
    _name_list: list[str] | None = None

    def _indices(self, canonical_text: str) -> np.ndarray:
        """The rows of the message's features that training knew."""
        get = self.vocabulary.get
        return np.array([i for i in map(get, features(canonical_text)) if i is not None],
                        dtype=np.int64)

    def score(self, canonical_text: str) -> Scores:
        index = self._indices(canonical_text)
        if index.size == 0:
            return Scores(index, 0.0, self.bias.astype(np.float64))
        idf = self.idf[index]
        scale = 1.0 / math.sqrt(float(np.dot(idf, idf)))   # the message at unit length
        raw = self.weights[index].sum(axis=0, dtype=np.float64) * scale + self.bias
        return Scores(index, scale, raw)

    def probabilities(self, scores: Scores, head: str) -> dict[str, float]:
        """Each class's own probability against the rest (they need not add up to 1)."""
        h = self.heads[head]
        each = scores.each[h.start:h.start + len(h.columns)].tolist()
        return dict(zip(h.columns, each, strict=True))

    def probability(self, scores: Scores, head: str) -> float:
        """A binary head's probability (its one column), without building a dict."""
        return float(scores.each[self.heads[head].start])

    def pushed(self, scores: Scores, head: str, label: str, top: int = TOP_FEATURES
               ) -> tuple[Pushed, ...]:
        """The features that pushed `label` most (weight times the message's scale)."""
        h = self.heads[head]
        column = h.start + (0 if h.binary else h.columns.index(label))
        if scores.index.size == 0:
            return ()
        contributions = self.weights[scores.index, column].astype(np.float64) * scores.scale
        names = self.feature_names()
        merged: dict[str, float] = {}    # a word and the same characters read as one
        order = np.argsort(-contributions)[:top * 2]
        for row, value in zip(scores.index[order].tolist(), contributions[order].tolist(),
                              strict=True):
            if value > 0:
                text = readable(names[row])
                merged[text] = merged.get(text, 0.0) + value
        best = sorted(merged.items(), key=lambda kv: -kv[1])[:top]
        return tuple(Pushed(text, weight) for text, weight in best)

    def index_examples(self) -> None:
        """Index every label's examples now (at start-up) rather than at a first turn."""
        for label in self.examples:
            self._label_examples(label)

    def _label_examples(self, label: str) -> tuple[sparse.csc_matrix, np.ndarray]:
        """The label's example rows, by feature column, and each one's feature count."""
        found = self._example_features.get(label)
        if found is None:
            rows = self.known.present[[self.known.row[t] for t in self.examples[label]]]
            sizes = np.maximum(np.asarray(rows.sum(axis=1)).ravel(), 1)
            found = self._example_features[label] = (sparse.csc_matrix(rows), sizes)
        return found

    def nearest_example(self, scores: Scores, label: str) -> tuple[str, float] | None:
        """The training example of `label` most like the scored message (cosine of their
        features)."""
        texts = self.examples.get(label, ())
        mine = scores.index
        if not texts or mine.size == 0:
            return None
        matrix, sizes = self._label_examples(label)
        starts = matrix.indptr[mine]
        counts = matrix.indptr[mine + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return None
        # every example row of every feature of the message, gathered in one go
        ends = np.cumsum(counts)
        at = np.arange(total) + np.repeat(starts - (ends - counts), counts)
        shared = np.bincount(matrix.indices[at], minlength=len(sizes))
        similarity = shared / np.sqrt(sizes * mine.size)
        best = int(similarity.argmax())
        if similarity[best] <= 0:
            return None
        return texts[best], round(float(similarity[best]), 3)

    def feature_names(self) -> list[str]:
        """Every feature, in the order of the weight table's rows."""
        if self._name_list is None:
            names = [""] * len(self.vocabulary)
            for name, i in self.vocabulary.items():
                names[i] = name
            self._name_list = names
        return self._name_list

