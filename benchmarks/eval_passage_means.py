"""Passage vectors embedded vs derived from their sentences' vectors, for the dense path.

    python benchmarks/eval_passage_means.py --sample 300

Embedding a passage costs about as much as embedding its sentences (issue 14's background
budget): if the normalised mean of a passage's stored sentence vectors served the dense
retrieval path as well, passages need not be embedded at all. Both are asked the same
questions with the same index, sentence vectors and tuning, model on: SQuAD v1.1 dev (a
random sample, whole 48-article base) and the users'-words dev set (every conversation;
KB = SQuAD + the bundled article). Vectors come from `data/bench-cache/<base>` (computed
there if absent). Writes `benchmarks/results/passage-means.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Encoder, Semantics, SentenceVectors
from bot.embedding import load_encoder
from bot.evaluation.conversations import by_category, read_conversations, run_conversations
from bot.evaluation.protocol import Row, as_answered, run_engine, sample, score
from bot.knowledge.vectors import cache_file, plan_vectors, stored_vectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")
CACHE = ROOT / "data" / "bench-cache"


def vectors_of(
    kb: KnowledgeBase, encoder: Encoder, name: str
) -> tuple[np.ndarray, np.ndarray, SentenceVectors]:
    """(embedded passage vectors, mean-of-sentences passage vectors, sentence vectors)."""
    path = cache_file(CACHE / name, encoder)
    stored = stored_vectors(kb, encoder, path)
    plan = plan_vectors(kb, encoder.dimension, path)
    means = np.zeros_like(plan.vectors)
    for i, entry in enumerate(plan.sentences):
        assert entry is not None
        mean = entry[1].astype(np.float32).mean(axis=0)
        means[i] = mean / (np.linalg.norm(mean) or 1.0)
    return stored.passages, means, stored.sentences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", type=Path, default=ROOT / "benchmarks/data/user_words_dev.jsonl")
    args = parser.parse_args()
    state = load_encoder("default", ROOT / "data" / "models")
    root = DATA / "squad-v1.1"
    if state.encoder is None or not root.is_dir():
        print(f"skipped: needs {root} and the installed model ({state.notice})")
        return 0
    encoder = state.encoder
    squad = load_knowledge(root / "knowledge")
    bundled = load_knowledge(ROOT / "knowledge")
    s_emb, s_mean, s_sent = vectors_of(squad, encoder, "squad-v1.1")
    b_emb, b_mean, b_sent = vectors_of(bundled, encoder, "bundled")
    config = EngineConfig()
    out: dict = {}

    raw = [json.loads(x) for x in (root / "dev.jsonl").read_text().splitlines() if x]
    rows = sample([Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw],
                  args.sample, args.seed)  # fmt: skip
    lexical = Engine(squad, config)
    for name, passages in (("embedded", s_emb), ("mean", s_mean)):
        engine = Engine(
            squad, config, lexical.index, Semantics(encoder, passages, sentences=s_sent)
        )
        f = score(rows, run_engine(engine, rows, name), as_answered)
        out[f"squad_dev_{name}"] = {"questions": len(rows), "answer_hit": f.answer_hit_rate,
                                    "abstained": f.abstention_rate}  # fmt: skip
        print(name, out[f"squad_dev_{name}"], flush=True)

    kb = KnowledgeBase(squad.articles + bundled.articles)
    sentences = SentenceVectors.of(
        np.concatenate([s_sent.keys, b_sent.keys]), np.concatenate([s_sent.vectors, b_sent.vectors])
    )
    conversations = read_conversations(args.set)
    words_lexical = Engine(kb, config)
    for name, passages in (
        ("embedded", np.vstack([s_emb, b_emb])),
        ("mean", np.vstack([s_mean, b_mean])),
    ):
        engine = Engine(
            kb, config, words_lexical.index, Semantics(encoder, passages, sentences=sentences)
        )
        table = by_category(run_conversations(engine, conversations))
        out[f"words_{name}"] = {
            c: {"questions": f.questions, "correct": f.rate(f.correct)} for c, f in table.items()
        }
        print(name, out[f"words_{name}"], flush=True)
    (ROOT / "benchmarks" / "results" / "passage-means.json").write_text(
        json.dumps(out, indent=1) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
