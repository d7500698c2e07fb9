"""`Engine.search` latency with the embedding model on vs off, one run, interleaved.

Per query (top 10, as `python -m bot search`): model off (BM25), then on with the query
embedded for the first time ("cold"), then the same query again ("warm": its vector cached,
what remains is the fusion). Same engine index for both; passage vectors from the bench cache.

    python benchmarks/bench_search.py [--queries 300] [--json out.json]

Reads /work/shared/data (SQuAD v1.1 48 articles with dev questions; SciFact abstracts with
its queries) and the installed model; exits 0 with one line when either is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine
from bot.core.retrieval.dense import Encoder, Semantics
from bot.embedding import load_encoder
from bot.evaluation.metrics import percentile
from bot.knowledge.vectors import cache_file, passage_vectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(kb: KnowledgeBase, queries: list[str], encoder: Encoder, cache: Path) -> dict:
    lexical = Engine(kb)
    vectors = passage_vectors(kb, encoder, cache_file(cache, encoder))
    semantic = Engine(kb, index=lexical.index, semantics=Semantics(encoder, vectors))
    ms: dict[str, list[float]] = {"off": [], "on, cold": [], "on, warm": []}
    for query in queries:
        ms["off"].append(timed(lambda q=query: lexical.search(q, 10)))
        ms["on, cold"].append(timed(lambda q=query: semantic.search(q, 10)))
        ms["on, warm"].append(timed(lambda q=query: semantic.search(q, 10)))
    out: dict = {"passages": len(kb.passages), "queries": len(queries)}
    for name, values in ms.items():
        out[name] = {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--models", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench-cache")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/bench-search.json")
    args = parser.parse_args(argv)
    if not (args.data / "squad-v1.1" / "knowledge").is_dir():
        print(f"evaluation data not found under {args.data}; nothing to measure")
        return 0
    encoder = load_encoder("default", args.models).encoder
    if encoder is None:
        print("embedding model not installed; nothing to measure")
        return 0
    rng = random.Random(0)
    squad_rows = (args.data / "squad-v1.1" / "dev.jsonl").read_text().splitlines()
    squad = [json.loads(r)["question"] for r in rng.sample(squad_rows, args.queries)]
    out: dict = {"load_average_before": os.getloadavg()}
    out["squad-v1.1"] = measure(
        load_knowledge(args.data / "squad-v1.1" / "knowledge"),
        squad,
        encoder,
        args.cache / "squad-v1.1",
    )
    scifact_dir = args.data / "scifact"
    if (scifact_dir / "corpus.jsonl").is_file():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from eval_scifact import write_corpus

        with tempfile.TemporaryDirectory() as scratch:
            write_corpus(scifact_dir / "corpus.jsonl", Path(scratch))
            kb = load_knowledge(Path(scratch))
        rows = (scifact_dir / "queries.jsonl").read_text().splitlines()
        queries = [json.loads(r)["text"] for r in rows][: args.queries]
        out["scifact"] = measure(kb, queries, encoder, args.cache / "scifact")
    out["load_average_after"] = os.getloadavg()
    for name in ("squad-v1.1", "scifact"):
        if name in out:
            f = out[name]
            off = f["off"]["p50_ms"]
            cells = ", ".join(
                f"{k} {v['p50_ms']:.1f}/{v['p95_ms']:.1f} ms (p50 × {v['p50_ms'] / off:.1f})"
                for k, v in f.items()
                if isinstance(v, dict)
            )
            print(f"{name} ({f['passages']:,} passages, {f['queries']} queries): {cells}")
    args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
