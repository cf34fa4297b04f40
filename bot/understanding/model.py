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

from bot.normalize import canonical
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
    """One feature that pushed a decision, with its share of the score."""

    feature: str
    weight: float

    @property
    def text(self) -> str:
        return readable(self.feature)

    def as_dict(self) -> dict[str, object]:
        return {"feature": self.text, "weight": round(self.weight, 3)}


@dataclass(slots=True)
class Scores:
    """A message scored by every head. `index` are the known features' rows."""

    index: np.ndarray
    scale: float
    raw: np.ndarray


@dataclass
class TextModel:
    """The exported model. `examples[label]` are the training messages of each class (for
    the nearest example); `digest` names the training data it was trained on."""

    digest: str
    vocabulary: dict[str, int]
    weights: np.ndarray            # float32, features x columns
    bias: np.ndarray               # float32, columns
    heads: dict[str, Head]
    idf: np.ndarray                # float32, features: how much each feature says
    examples: Mapping[str, Sequence[str]]
    training_seconds: float = 0.0
    _example_features: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    _name_list: list[str] | None = None

    def score(self, canonical_text: str) -> Scores:
        index = np.fromiter((self.vocabulary[f] for f in features(canonical_text)
                             if f in self.vocabulary), dtype=np.int64)
        if index.size == 0:
            return Scores(index, 0.0, self.bias.astype(np.float64))
        idf = self.idf[index]
        scale = 1.0 / math.sqrt(float(np.dot(idf, idf)))   # the message at unit length
        raw = self.weights[index].sum(axis=0, dtype=np.float64) * scale + self.bias
        return Scores(index, scale, raw)

    def probabilities(self, scores: Scores, head: str) -> dict[str, float]:
        """Each class's own probability against the rest (they need not add up to 1)."""
        h = self.heads[head]
        values = scores.raw[h.start:h.start + len(h.columns)]
        each = 1.0 / (1.0 + np.exp(-np.clip(values, -30.0, 30.0)))
        return {label: float(p) for label, p in zip(h.columns, each, strict=True)}

    def pushed(self, scores: Scores, head: str, label: str, top: int = TOP_FEATURES
               ) -> tuple[Pushed, ...]:
        """The features that pushed `label` most (weight times the message's scale)."""
        h = self.heads[head]
        column = h.start + (0 if h.binary else h.columns.index(label))
        if scores.index.size == 0:
            return ()
        contributions = self.weights[scores.index, column].astype(np.float64) * scores.scale
        order = np.argsort(-contributions)[:top]
        names = self._names()
        return tuple(Pushed(names[int(scores.index[i])], float(contributions[i]))
                     for i in order if contributions[i] > 0)

    def nearest_example(self, canonical_text: str, label: str) -> tuple[str, float] | None:
        """The training example of `label` most like this message (cosine of features)."""
        found = self._example_features.get(label)
        if found is None:
            found = [frozenset(features(canonical(e))) for e in self.examples.get(label, ())]
            self._example_features[label] = found
        mine = frozenset(features(canonical_text))
        best, best_score = None, 0.0
        for text, theirs in zip(self.examples.get(label, ()), found, strict=True):
            if not theirs or not mine:
                continue
            similarity = len(mine & theirs) / math.sqrt(len(mine) * len(theirs))
            if similarity > best_score:
                best, best_score = text, similarity
        return (best, round(best_score, 3)) if best is not None else None

    def _names(self) -> list[str]:
        if self._name_list is None:
            names = [""] * len(self.vocabulary)
            for name, i in self.vocabulary.items():
                names[i] = name
            self._name_list = names
        return self._name_list

