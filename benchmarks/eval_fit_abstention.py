"""Fit the abstention score on SQuAD v1.1 *dev* with the removed-articles protocol.

A deterministic third of the dev articles leaves the knowledge base; a logistic regression
separates the support figures of questions about the remaining articles (answer) from those
about removed ones (abstain). Questions come from a sample disjoint from eval_squad.py's
(seed 0), so the operating point chosen there is not read off the training data. With
``--write`` the weights (rounded to 0.001) go into ``bot/core/answering/tuning.json``; the
threshold ``min_support`` is chosen on eval_squad.py's curve and set there by hand.

    python benchmarks/eval_fit_abstention.py --questions 1500 [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from bot.core.answering.support import SUPPORT_FEATURES
from bot.core.answering.tuning import TUNING_FILE, load_tuning, write_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import EngineConfig
from bot.evaluation.protocol import Row, open_engine, removed_articles, run_engine

DATA = Path("/work/shared/data")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weights on the raw features, then the bias (standardised internally)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(5000):
        p = 1 / (1 + np.exp(-z @ w))
        w += 0.5 * (z.T @ (y - p)) / len(y) - l2 * np.r_[w[:-1], 0.0]
    raw = w[:-1] / sd
    return np.r_[raw, w[-1] - float(raw @ mu)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--questions", type=int, default=1500, help="per side")
    parser.add_argument("--exclude-sample", type=int, default=800)
    parser.add_argument("--write", action="store_true", help="write the weights to tuning.json")
    args = parser.parse_args(argv)
    squad = args.data / "squad-v1.1"
    if not (squad / "knowledge").is_dir():
        print("SQuAD data not found; nothing to fit")
        return 0
    raw = [json.loads(x) for x in (squad / "dev.jsonl").read_text().splitlines() if x]
    rows = [Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw]
    removed = set(removed_articles(sorted({r.article for r in rows if r.article})))
    kb = load_knowledge(squad / "knowledge")
    small = KnowledgeBase(tuple(a for a in kb.articles if Path(a.id).stem not in removed))

    def pool(inside: bool) -> list[Row]:
        side = [r for r in rows if (r.article not in removed) == inside]
        held = set(random.Random(0).sample(range(len(side)), min(args.exclude_sample, len(side))))
        rest = [r for i, r in enumerate(side) if i not in held]
        return random.Random(1).sample(rest, min(args.questions, len(rest)))

    engine = open_engine(small, EngineConfig())
    inside = [o.support for o in run_engine(engine, pool(True), "in-KB") if o.support]
    outside = [o.support for o in run_engine(engine, pool(False), "removed") if o.support]
    cap = engine.config.tuning.together_cap
    x = np.array([s.features(cap) for s in inside + outside], dtype=float)
    y = np.r_[np.ones(len(inside)), np.zeros(len(outside))]
    w = fit_logistic(x, y)
    scores = np.c_[x, np.ones(len(x))] @ w
    threshold = float(np.quantile(scores[: len(inside)], 0.05))
    print(f"{len(inside)} in-KB, {len(outside)} removed-article questions")
    for name, value in zip([*SUPPORT_FEATURES, "bias"], w, strict=True):
        print(f"  {name:18} {value:+.3f}")

    out_rate = float((scores[len(inside) :] < threshold).mean())
    print(f"threshold at 5 % in-KB abstained: {threshold:.3f} → removed abstained {out_rate:.1%}")
    if args.write:
        tuning = load_tuning()
        names = [*SUPPORT_FEATURES, "bias"]
        how = f"benchmarks/eval_fit_abstention.py --questions {args.questions}: " + (
            "logistic regression on the dev removed-articles protocol, questions disjoint "
            "from the evaluation sample"
        )
        weights = {n: round(float(v), 3) for n, v in zip(names, w, strict=True)}
        write_tuning(
            tuning.model_copy(
                update={
                    "support_weights": weights,
                    "fitted": tuning.fitted | {"support_weights": how},
                }
            )
        )
        print(f"written to {TUNING_FILE}; choose min_support on eval_squad.py --curve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
