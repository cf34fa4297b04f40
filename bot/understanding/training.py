"""Training the text model from a dialog's examples (scikit-learn logistic regression),
then exporting its weights into a `TextModel` that scores without scikit-learn.

What each head learns from:
- `category`: each category's examples and its situations' examples. Whether a message
  is a complaint at all is the act head's call (a greeting or a "yes" is none).
- `situation:<category>`: inside one category, each situation's examples.
- `act`: each act's examples; a complaint told in full (category and signal examples)
  is `other`, an ask for a person inside a complaint is `human`.
- `signal:<name>`: the signal's examples (plus, for `safety`, the safety category's)
  against everything else (`ordinary:` complaints above all), except signals that
  overlap (insult, accusation, anger).
- `clause:venting`: the restatement's venting clauses (and greeting and thanks replies)
  against its factual clauses: which clauses of a telling are restated.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bot.normalize import canonical
from bot.understanding.features import features
from bot.understanding.model import Examples, Head, TextModel
from dialogs.model import TEXT_SIGNALS, Dialog

MODEL_VERSION = 10           # bump when features or training change: old caches retire
OVERLAPPING = frozenset({"insult", "accusation", "anger"})
C_MULTI = 8.0                # inverse regularisation: categories and situations
C_ACT = 2.0                  # dialog acts
C_BINARY = 2.0               # risk signals (held back: a false alarm costs a person's time)
SHAPES = ("s:len",)          # features the signal heads do not learn from
INTERCEPT_SCALING = 1.0
MAX_ITER = 100
TOL = 1e-2                   # liblinear stops here: the ranking is settled well before 1e-4
BINARY = ("signal:", "clause:")       # heads with one yes/no column
EXPLAINED = ("category", "situation:")   # heads whose decisions show the nearest example
TELLINGS = 3                 # the act head learns `other` from one in this many tellings


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    locale: str


Labelled = list[tuple[Example, str]]


def _each(examples: Mapping[str, Iterable[str]]) -> Iterable[Example]:
    for locale, texts in examples.items():
        for text in texts:
            yield Example(text, locale)


def category_data(dialog: Dialog) -> Labelled:
    data: Labelled = []
    for category in dialog.categories.values():
        data += [(e, category.id) for e in _each(category.examples)]
        for situation in category.situations.values():
            data += [(e, category.id) for e in _each(situation.examples)]
    return data


def situation_data(dialog: Dialog, category: str) -> Labelled:
    return [(e, situation.id) for situation in dialog.categories[category].situations.values()
            for e in _each(situation.examples)]


def act_data(dialog: Dialog) -> Labelled:
    """Acts from their examples; complaints told in full are `other` (one in TELLINGS of
    them: plenty to learn from, and the act head trains in a fraction of the time)."""
    data: Labelled = []
    for act, examples in dialog.acts.items():
        data += [(e, act) for e in _each(examples)]
    tellings: list[Example] = list(_each(dialog.ordinary))
    for category in dialog.categories.values():
        tellings += _each(category.examples)
        for situation in category.situations.values():
            tellings += _each(situation.examples)
    for name in TEXT_SIGNALS:
        if name == "human_request":
            data += [(e, "human") for e in _each(dialog.signals[name].examples)]
        else:
            tellings += _each(dialog.signals[name].examples)
    data += [(e, "other") for e in tellings if held_out(e.text, TELLINGS, 0)]
    return data


def signal_data(dialog: Dialog, name: str) -> Labelled:
    """Positives labelled `yes`, negatives `no`."""
    positives = list(_each(dialog.signals[name].examples))
    if name == "safety":
        safety = dialog.categories.get("safety")
        if safety is not None:
            positives += list(_each(safety.examples))
            for situation in safety.situations.values():
                positives += list(_each(situation.examples))
    if name == "human_request":
        positives += list(_each(dialog.acts.get("human", {})))
    seen = {e.text for e in positives}
    negatives: list[Example] = []
    for category in dialog.categories.values():
        if name == "safety" and category.id == "safety":
            continue
        negatives += list(_each(category.examples))
        for situation in category.situations.values():
            negatives += list(_each(situation.examples))
    for act, examples in dialog.acts.items():
        if not (name == "human_request" and act == "human"):
            negatives += list(_each(examples))
    negatives += list(_each(dialog.ordinary))
    for other in TEXT_SIGNALS:
        if other == name or (name in OVERLAPPING and other in OVERLAPPING):
            continue
        if name == "human_request" or other != "human_request":
            negatives += list(_each(dialog.signals[other].examples))
    return ([(e, "yes") for e in positives]
            + [(e, "no") for e in negatives if e.text not in seen])


def clause_data(dialog: Dialog) -> Labelled:
    """Venting clauses (and greetings, thanks) `yes`; factual clauses `no`."""
    rules = dialog.restatement
    positives = list(_each(rules.venting))
    for act in ("greeting", "thanks"):
        positives += _each(dialog.acts.get(act, {}))
    return [(e, "yes") for e in positives] + [(e, "no") for e in _each(rules.facts)]


def training_sets(dialog: Dialog) -> dict[str, Labelled]:
    sets = {"category": category_data(dialog), "act": act_data(dialog),
            "clause:venting": clause_data(dialog)}
    for category in dialog.categories:
        sets[f"situation:{category}"] = situation_data(dialog, category)
    for name in TEXT_SIGNALS:
        if dialog.signals[name].examples:
            sets[f"signal:{name}"] = signal_data(dialog, name)
    return {head: data for head, data in sets.items() if len({label for _, label in data}) > 1}


def training_digest(sets: Mapping[str, Labelled]) -> str:
    """Names the training data: a dialog edit that changes no example reuses the model."""
    payload = json.dumps({"version": MODEL_VERSION, "sets": {
        head: [[e.text, label] for e, label in data] for head, data in sorted(sets.items())}},
        ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def held_out(text: str, folds: int, fold: int) -> bool:
    """A stable split: the same example is always in the same fold."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % folds == fold


def without(sets: Mapping[str, Labelled], folds: int, fold: int) -> dict[str, Labelled]:
    return {head: [(e, label) for e, label in data if not held_out(e.text, folds, fold)]
            for head, data in sets.items()}


def train(sets: Mapping[str, Labelled], digest: str | None = None) -> TextModel:
    """Fit one logistic regression per head and export them into one weight table.

    Each class is fitted against the rest (liblinear, one-vs-rest): well under a second a
    head, where a joint softmax over 90,000 features takes many seconds. `digest` is
    `training_digest(sets)` when the caller has it already."""
    started = time.perf_counter()
    texts = sorted({e.text for data in sets.values() for e, _ in data})
    row_of = {t: i for i, t in enumerate(texts)}
    featured = [features(canonical(t)) for t in texts]
    vocabulary: dict[str, int] = dict.fromkeys(itertools.chain.from_iterable(featured), 0)
    for i, name in enumerate(vocabulary):
        vocabulary[name] = i
    present = _matrix(featured, vocabulary)
    # rare features say more than common ones (smoothed inverse document frequency)
    document_frequency = np.asarray(present.sum(axis=0)).ravel()
    idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1.0
    everything = _unit_rows(present @ sparse.diags(idf))
    keep = np.array([not f.startswith(SHAPES) for f in vocabulary], dtype=np.float64)
    without_shapes = everything @ sparse.diags(keep)
    heads: dict[str, Head] = {}
    jobs: list[tuple[sparse.csr_matrix, np.ndarray, float]] = []
    examples: dict[str, list[str]] = {}
    start = 0
    for head, data in sorted(sets.items()):
        binary = head.startswith(BINARY)
        source = without_shapes if binary else everything
        matrix = source[[row_of[e.text] for e, _ in data]]
        labels = np.array([label for _, label in data])
        classes = ["yes"] if binary else sorted(set(labels.tolist()))
        c = C_BINARY if binary else C_ACT if head == "act" else C_MULTI
        jobs += [(matrix, labels == label, c) for label in classes]
        columns = (head.split(":", 1)[1],) if binary else tuple(classes)
        heads[head] = Head(head, columns, start, binary)
        start += len(columns)
        if head.startswith(EXPLAINED):                # their nearest example
            for e, label in data:
                examples.setdefault(f"{head}|{label}", []).append(e.text)
    fitted = [_fit(*job) for job in jobs]
    weights = (np.hstack([coef for coef, _ in fitted]) * idf[:, None]).astype(np.float32)
    bias = np.concatenate([b for _, b in fitted]).astype(np.float32)
    return TextModel(digest or training_digest(sets), vocabulary, weights, bias, heads,
                     idf.astype(np.float32),
                     {k: tuple(dict.fromkeys(v)) for k, v in examples.items()},
                     Examples(tuple(texts), present),
                     training_seconds=time.perf_counter() - started)


def _fit(matrix: sparse.csr_matrix, target: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One class against the rest: its weights (a column) and intercept."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver="liblinear", dual=True, class_weight="balanced",
                               intercept_scaling=INTERCEPT_SCALING, max_iter=MAX_ITER, tol=TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # close enough to rank well
        model.fit(matrix, target)
    return model.coef_[0][:, None], model.intercept_


def _matrix(rows: list[tuple[str, ...]], vocabulary: Mapping[str, int]) -> sparse.csr_matrix:
    """One row a message, a 1 for each of its features."""
    indices = np.fromiter(map(vocabulary.__getitem__, itertools.chain.from_iterable(rows)),
                          dtype=np.int64)
    indptr = np.cumsum([0, *(len(row) for row in rows)])
    values = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((values, indices, indptr), shape=(len(rows), len(vocabulary)))


def _unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Each message at unit length, as scoring weighs it."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)
