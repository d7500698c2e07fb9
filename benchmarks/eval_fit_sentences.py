"""Fit the composer's sentence weights on SQuAD v1.1 *dev* questions (never held-out).

A conditional logit: for each question, the softmax over the sentences of its top passages
should put its mass on the sentences that contain a gold answer. Writes the weights (rounded,
scaled so that coverage weighs 1) into ``bot/core/answering/tuning.json`` with ``--write``;
weights set by hand there (those with a reason ``sentence_weights.<name>``) are kept.

    python benchmarks/eval_fit_sentences.py --questions 4000 [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

from bot.core.answering.scoring import SENTENCE_FEATURES, Candidate
from bot.core.answering.tuning import TUNING_FILE, load_tuning, write_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.engine import EngineConfig
from bot.core.text.analysis import analyze
from bot.evaluation.metrics import contains_answer
from bot.evaluation.protocol import open_engine

DATA = Path("/work/shared/data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--questions", type=int, default=2500)
    parser.add_argument(
        "--exclude-sample",
        type=int,
        default=1000,
        help="leave out eval_squad.py's dev sample of this size (seed 0)",
    )
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help="write the weights to tuning.json")
    args = parser.parse_args(argv)
    squad = args.data / "squad-v1.1"
    if not (squad / "knowledge").is_dir():
        print("SQuAD data not found; nothing to fit")
        return 0
    rows = [json.loads(x) for x in (squad / "dev.jsonl").read_text().splitlines() if x]
    held = {id(r) for r in random.Random(0).sample(rows, min(args.exclude_sample, len(rows)))}
    pool = [r for r in rows if id(r) not in held]
    pool = random.Random(1).sample(pool, min(args.questions, len(pool)))

    engine = open_engine(load_knowledge(squad / "knowledge"), EngineConfig())
    composer = engine.composer
    xs, ys, groups = [], [], []
    for r in tqdm(pool, desc="features", leave=False):
        terms = analyze(r["question"], names=False)
        hits = engine.search(r["question"], engine.config.tuning.candidates)
        if not terms or not hits:
            continue
        cands = [Candidate(h.passage, h.article, h.score) for h in hits]
        feats = composer.sentence_features(r["question"], set(terms), cands)
        labels = [contains_answer(c.passage.text[a:b], r["answers"]) for c, a, b, _, _ in feats]
        if not any(labels) or all(labels):
            continue
        groups.append(len(xs))
        xs.extend(f for *_, f in feats)
        ys.extend(labels)
    x = np.array(xs, dtype=float)
    y = np.array(ys, dtype=float)
    starts = np.array(groups)
    gid = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(x))))
    print(f"{len(starts)} questions, {len(x)} sentences, {int(y.sum())} with a gold answer")

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        m = np.maximum.reduceat(s, starts)[gid]
        e = np.exp(s - m)
        z_all = np.add.reduceat(e, starts)
        z_pos = np.add.reduceat(e * y, starts)
        p_all = e / z_all[gid]
        p_pos = e * y / z_pos[gid]
        value = -np.sum(np.log(z_pos) - np.log(z_all)) + args.l2 * w @ w
        grad = -(x.T @ (p_pos - p_all)) + 2 * args.l2 * w
        return float(value), grad

    w0 = np.zeros(x.shape[1])
    w0[0] = 1.0
    fit = minimize(loss, w0, jac=True, method="L-BFGS-B")
    w = fit.x / fit.x[0]
    for name, value in zip(SENTENCE_FEATURES, w, strict=True):
        print(f"  {name:18} {value:+.3f}")
    if args.write:
        tuning = load_tuning()
        fitted = {n: round(float(v), 2) for n, v in zip(SENTENCE_FEATURES, w, strict=True)}
        # A weight set by hand (it has a reason of its own) is not the fit's to change.
        kept = {n: tuning.sentence_weights[n] for n in fitted if tuning.set_by_hand(n)}
        how = f"benchmarks/eval_fit_sentences.py --questions {args.questions}: " + (
            "conditional logit on SQuAD v1.1 dev questions disjoint from the evaluation "
            "sample, scaled so coverage weighs 1, rounded to 0.01"
        )
        write_tuning(
            tuning.model_copy(
                update={
                    "sentence_weights": fitted | kept,
                    "fitted": tuning.fitted | {"sentence_weights": how},
                }
            )
        )
        print(f"written to {TUNING_FILE} (kept by hand: {', '.join(kept) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
