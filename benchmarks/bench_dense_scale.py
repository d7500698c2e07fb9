"""`Engine.answer` at 100k passages with the model on, beside the lexical path, one run.

    python benchmarks/bench_dense_scale.py [--passages 100000] [--questions 60]

Embedding 100k passages and their sentences takes about an hour on 2 cores, so the stored
vectors are **random unit vectors of the right shape** standing in for computed ones
(passages × 384, and one per sentence of every passage, keyed by its text as the product
keys them): the cost of a question is what is measured, not the quality of its answer. The
question vector and any sentence not stored are embedded by the real model (int8).

Per question, interleaved (same machine load): lexical (model off); model on before the
vectors are ready (re-ranked sentences embedded at question time, cached by text); model on
with vectors ready (float16 as stored; `Semantics` searches a float32 copy); and the exact
search alone (`top_by_cosine`) over float16 and float32 matrices (numpy has no float16
BLAS). Corpus: `bench_corpus.py` (SQuAD sentences recombined), questions: SQuAD dev. Writes
`benchmarks/results/bench-dense-scale.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_corpus

from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Semantics, SentenceVectors, text_key, top_by_cosine
from bot.embedding.encoder import OnnxEncoder
from bot.knowledge.factory import load_knowledge_base
from bot.knowledge.vectors import sentence_texts
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "all-MiniLM-L6-v2"
RESULTS = ROOT / "benchmarks" / "results" / "bench-dense-scale.json"


def unit_rows(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    rows = rng.standard_normal((n, d), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float16)


def stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    if not (MODEL / "INSTALLED").is_file() or not bench_corpus.DATA.is_dir():
        print("skipped: needs the installed model and /work/shared/data")
        return 0
    out: dict = {"passages": args.passages, "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "kb"
        bench_corpus.write_knowledge(folder, args.passages)
        settings = Settings(knowledge_dir=folder, db_path=Path(scratch) / "db.sqlite3",
                            embedding_model="off", _env_file=None)  # type: ignore[call-arg]  # fmt: skip
        started = time.perf_counter()
        kb = load_knowledge_base(settings, use_cache=False)
        lexical = Engine(kb, EngineConfig())
        out["build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    keys = np.fromiter(
        (text_key(s) for p in kb.passages for s in sentence_texts(p.text)), dtype=np.uint64
    )
    out["sentences"] = len(keys)
    out["split_and_key_s"] = round(time.perf_counter() - started, 1)
    rng = np.random.default_rng(0)
    passages16 = unit_rows(rng, len(kb.passages))
    sentences = SentenceVectors.of(keys, unit_rows(rng, len(keys)))
    out["stored_mib"] = round((passages16.nbytes + sentences.vectors.nbytes + keys.nbytes) / 2**20)
    encoder = OnnxEncoder(MODEL)
    encoder.encode(["warm up"])
    config = EngineConfig()
    engines = {
        "lexical": lexical,
        "before_ready": Engine(kb, config, lexical.index, Semantics(encoder, pending=True)),
        "ready": Engine(
            kb, config, lexical.index, Semantics(encoder, passages16, sentences=sentences)
        ),
    }
    questions = bench_corpus.questions(args.questions + 5, seed=3)
    for q in questions[:5]:  # warm the analyzer and spelling for every engine
        for engine in engines.values():
            engine.answer(q)
    times: dict[str, list[float]] = {name: [] for name in engines}
    search: dict[str, list[float]] = {"f16": [], "f32": []}
    matrices = {"f16": passages16, "f32": passages16.astype(np.float32)}
    for q in questions[5:]:
        for name, engine in engines.items():
            t = time.perf_counter()
            engine.answer(q)
            times[name].append(1000 * (time.perf_counter() - t))
        vector = encoder.encode([q])[0]
        for name, matrix in matrices.items():
            assert matrix is not None
            t = time.perf_counter()
            top_by_cosine(vector, matrix, 20)
            search[name].append(1000 * (time.perf_counter() - t))
    out["answer_ms"] = {name: stats(ms) for name, ms in times.items()}
    out["search_ms"] = {name: stats(ms) for name, ms in search.items()}
    lex = out["answer_ms"]["lexical"]["p50"]
    out["ratio_p50_vs_lexical"] = {n: round(v["p50"] / lex, 1) for n, v in out["answer_ms"].items()}
    out["load_average_after"] = os.getloadavg()
    RESULTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
