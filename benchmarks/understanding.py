"""Understanding speed: seconds to train the shipped dialog's text model, and messages per
second for reading one message (features, scoring, category, act, signals, details).

    python benchmarks/understanding.py [--messages 3000] [--file labelled.tsv]

Messages come from the dev set (tests/data/understanding/dev.tsv), each made unique so no
cache helps; pinned to one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.normalize import canonical
from bot.understanding import understand
from bot.understanding.features import features
from bot.understanding.training import train, training_sets
from dialogs.loader import default_dialog_path, load_dialog

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "understanding" / "dev.tsv"


def main(messages: int, file: Path) -> None:
    dialog = load_dialog(default_dialog_path())
    sets = training_sets(dialog)
    rows = sum(len(data) for data in sets.values())
    understand("暖機", dialog)    # jieba's dictionary loads once per process (about 0.7 s)
    features.cache_clear()
    started = time.perf_counter()
    model = train(sets)
    first = time.perf_counter() - started
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        model = train(sets)
        timings.append(time.perf_counter() - started)
    print(f"training             {first:.2f} s from scratch (every example's features), "
          f"{statistics.median(timings):.2f} s again (median of 3, as a hot reload); "
          f"{rows} labelled rows in {len(sets)} heads, {len(model.vocabulary):,} features")
    lines = [line.split("\t")[0] for line in file.read_text("utf-8").splitlines()[1:] if line]
    texts = [f"{lines[i % len(lines)]} {i}" for i in range(messages)]
    started = time.perf_counter()
    for text in texts:
        understand(text, dialog)
    elapsed = time.perf_counter() - started
    print(f"understanding        {messages / elapsed:,.0f} messages/s "
          f"({elapsed / messages * 1e6:.0f} µs each; features, scores, category, act, "
          f"signals, details)")
    model_only = [canonical(t + " x") for t in texts]
    from bot.understanding import model_for

    live = model_for(dialog)
    started = time.perf_counter()
    for text in model_only:
        live.score(text)
    elapsed = time.perf_counter() - started
    print(f"scoring only         {messages / elapsed:,.0f} messages/s (features and all heads)")
    print(f"cores                {len(os.sched_getaffinity(0))} (pinned)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--file", type=Path, default=DEV)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    main(args.messages, args.file)
