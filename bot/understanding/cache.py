"""The trained model for a dialog: trained once per training data, kept in memory and on
disk (`<dir>/<digest>.npz` + `.json`), so `heard serve` and `heard chat` start fast.

The disk folder is set once by the process (`use_folder`, from the settings); without it
models live in memory only. Files are written under a temporary name and renamed, so a
reader never sees half a model; a file that cannot be read is trained again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
from scipy import sparse

from bot.understanding.model import Examples, Head, TextModel
from bot.understanding.training import train, training_digest, training_sets
from dialogs.model import Dialog

log = logging.getLogger("heard.understanding")
_folder: Path | None = None
_by_digest: dict[str, TextModel] = {}
_by_dialog: dict[str, TextModel] = {}
_lock = threading.Lock()
KEEP = 6


def use_folder(folder: str | Path | None) -> None:
    global _folder
    _folder = Path(folder) if folder else None


def model_for(dialog: Dialog) -> TextModel:
    """The dialog's model: from memory, from disk, or trained now (under 3 s)."""
    found = _by_dialog.get(dialog.digest)
    if found is not None:
        return found
    with _lock:
        found = _by_dialog.get(dialog.digest)
        if found is None:
            sets = training_sets(dialog)
            digest = training_digest(sets)
            found = _by_digest.get(digest) or _read(digest)
            if found is None:
                found = train(sets, digest)
                log.info("trained the text model for %s in %.2f s", dialog.name,
                         found.training_seconds)
                _write(found)
            _by_digest[digest] = found
            _by_dialog[dialog.digest] = found
    return found


def _paths(digest: str) -> tuple[Path, Path] | None:
    if _folder is None:
        return None
    return _folder / f"{digest}.npz", _folder / f"{digest}.json"


def _read(digest: str) -> TextModel | None:
    paths = _paths(digest)
    if paths is None or not paths[0].exists() or not paths[1].exists():
        return None
    try:
        meta = json.loads(paths[1].read_text("utf-8"))
        with np.load(paths[0], allow_pickle=False) as arrays:
            weights, bias, idf = arrays["weights"], arrays["bias"], arrays["idf"]
            present = sparse.csr_matrix(
                (np.ones(len(arrays["ex_indices"])), arrays["ex_indices"], arrays["ex_indptr"]),
                shape=(len(meta["example_texts"]), len(meta["vocabulary"])))
        vocabulary = {name: i for i, name in enumerate(meta["vocabulary"])}
        heads = {h["name"]: Head(h["name"], tuple(h["columns"]), h["start"], h["binary"])
                 for h in meta["heads"]}
        if (meta["digest"] != digest or weights.shape != (len(vocabulary), len(bias))
                or idf.shape != (len(vocabulary),)):
            raise ValueError("model files do not match")
        return TextModel(digest, vocabulary, weights, bias, heads, idf,
                         {k: tuple(v) for k, v in meta["examples"].items()},
                         Examples(tuple(meta["example_texts"]), present),
                         training_seconds=float(meta.get("training_seconds", 0.0)))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("cached text model %s unreadable (%s); training again", digest[:12], exc)
        return None


def _write(model: TextModel) -> None:
    paths = _paths(model.digest)
    if paths is None:
        return
    meta = {"digest": model.digest, "vocabulary": model.feature_names(), "examples": model.examples,
            "example_texts": model.known.texts,
            "training_seconds": model.training_seconds,
            "heads": [{"name": h.name, "columns": list(h.columns), "start": h.start,
                       "binary": h.binary} for h in model.heads.values()]}
    try:
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        for path, write in ((paths[0], lambda f: np.savez_compressed(
                f, weights=model.weights, bias=model.bias, idf=model.idf,
                ex_indices=model.known.present.indices, ex_indptr=model.known.present.indptr)),
                            (paths[1], lambda f: f.write(json.dumps(meta, ensure_ascii=False)
                                                         .encode("utf-8")))):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-")
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not keep the text model on disk (%s); it stays in memory", exc)
        return
    _prune(paths[0].parent)


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently written models (each dialog edit that changes an
    example trains a new one; older ones are only useful to roll back)."""
    models = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[KEEP:]:
        for path in (old, old.with_suffix(".json")):
            with contextlib.suppress(OSError):
                path.unlink()
