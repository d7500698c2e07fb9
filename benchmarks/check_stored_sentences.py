"""Stored sentence vectors vs question-time embedding: same answers, and what each costs.

    python benchmarks/check_stored_sentences.py --sample 300

Over SQuAD v1.1's 48 articles, one engine whose `Semantics` has the passage vectors only
(every re-ranked sentence embedded at question time, as before stored sentences) and one with
the stored sentence vectors too, same index, same passage vectors. Each question is asked of
both; answers, abstentions and citations are diffed (they may differ only where float16
rounding moves a cosine across a decision), and `Engine.answer` time and texts embedded per
question are recorded. The vectors are computed once into `data/bench-cache/squad-v1.1`
(timed: passages and sentences per second). Writes
`benchmarks/results/stored-sentences.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Semantics
from bot.embedding import load_encoder
from bot.evaluation.protocol import Row, sample
from bot.knowledge.vectors import cache_file, stored_vectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")
MODELS = ROOT / "data" / "models"
CACHE = ROOT / "data" / "bench-cache" / "squad-v1.1"


class Counting:
    """The real encoder, counting the texts it embeds."""

    def __init__(self, encoder: object) -> None:
        self._encoder = encoder
        self.name = encoder.name  # type: ignore[attr-defined]
        self.dimension = encoder.dimension  # type: ignore[attr-defined]
        self.texts = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self._encoder.encode(texts)  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", type=Path, default=MODELS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = DATA / "squad-v1.1"
    state = load_encoder("default", args.models)
    if not root.is_dir() or state.encoder is None:
        print(f"skipped: needs {root} and the installed model ({state.notice})")
        return 0
    kb = load_knowledge(root / "knowledge")
    started = time.perf_counter()
    stored = stored_vectors(kb, state.encoder, cache_file(CACHE, state.encoder))
    embed_s = time.perf_counter() - started
    raw = [json.loads(x) for x in (root / "dev.jsonl").read_text().splitlines() if x]
    rows = sample([Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw],
                  args.sample, args.seed)  # fmt: skip
    config = EngineConfig()
    lexical = Engine(kb, config)
    before_enc, after_enc = Counting(state.encoder), Counting(state.encoder)
    before = Engine(kb, config, lexical.index, Semantics(before_enc, stored.passages))
    after = Engine(
        kb, config, lexical.index, Semantics(after_enc, stored.passages, sentences=stored.sentences)
    )
    times: dict[str, list[float]] = {"lexical": [], "question_time": [], "stored": []}
    texts: dict[str, list[int]] = {"question_time": [], "stored": []}
    diffs = []
    for row in rows:
        t = time.perf_counter()
        lexical.answer(row.question)
        times["lexical"].append(1000 * (time.perf_counter() - t))
        answers = []
        for name, engine, enc in (
            ("question_time", before, before_enc),
            ("stored", after, after_enc),
        ):
            n, t = enc.texts, time.perf_counter()
            answers.append(engine.answer(row.question))
            times[name].append(1000 * (time.perf_counter() - t))
            texts[name].append(enc.texts - n)
        a, b = answers
        same = (a.answer, a.abstained, [c.passage_id for c in a.citations]) == (
            b.answer, b.abstained, [c.passage_id for c in b.citations])  # fmt: skip
        if not same:
            diffs.append({"question": row.question, "question_time": a.answer, "stored": b.answer,
                          "abstained": [a.abstained, b.abstained]})  # fmt: skip
    n_sentences = len(stored.sentences)
    out = {
        "questions": len(rows),
        "passages": len(kb.passages),
        "sentences_stored": n_sentences,
        "embed_s": round(embed_s, 1),
        "answers_differing": len(diffs),
        "diffs": diffs,
        "answer_ms": {k: {"p50": round(statistics.median(v), 1),
                          "p95": round(float(np.percentile(v, 95)), 1)} for k, v in times.items()},
        "texts_embedded_per_question": {k: round(statistics.mean(v), 2) for k, v in texts.items()},
    }  # fmt: skip
    (ROOT / "benchmarks" / "results" / "stored-sentences.json").write_text(
        json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps({k: v for k, v in out.items() if k != "diffs"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
