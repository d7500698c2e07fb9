"""Retrieval quality on BEIR SciFact through `Engine.search`, beside rank-bm25 and the papers.

Each abstract becomes one knowledge file (front-matter title, abstract as body) loaded by the
product's own loader; documents are ranked by their best passage.

    python benchmarks/eval_scifact.py [--idf lucene|okapi] [--k1 1.5 --b 0.75] [--json out.json]
    python benchmarks/eval_scifact.py --model     # with the embedding model: search's fusion

`--model` loads the installed model and the abstracts' passage vectors from
`--cache` (data/bench-cache/scifact; embedded there on first use, minutes on 2 cores), as
`python -m bot search` ranks once its background vectors are ready.

Reads /work/shared/data/scifact (or --data); exits cleanly when it is absent.
Published BM25: nDCG@10 0.665 (BEIR, Elasticsearch), 0.679 and recall@100 0.925 (Anserini).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Semantics
from bot.evaluation.baseline import tokens
from bot.evaluation.metrics import ndcg_at_k, percentile, recall_at_k

DATA = Path("/work/shared/data")
ROOT = Path(__file__).resolve().parent.parent


def write_corpus(corpus: Path, target: Path) -> None:
    """One Markdown file per abstract; json.dumps gives a valid YAML string for the title."""
    for line in corpus.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        title = doc.get("title") or doc["_id"]
        body = doc.get("text") or title
        (target / f"{doc['_id']}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\n---\n\n{body}\n", encoding="utf-8"
        )


def rank_documents(engine: Engine, query: str, depth: int) -> list[str]:
    """Documents (file stems) ordered by their best passage."""
    seen: dict[str, None] = {}
    for hit in engine.search(query, depth * 3):
        seen.setdefault(Path(hit.article.id).stem, None)
        if len(seen) >= depth:
            break
    return list(seen)


def semantics_of(kb: KnowledgeBase, args: argparse.Namespace) -> Semantics:
    """The installed model with every passage's vector (cached on disk by passage content)."""
    from bot.embedding import load_encoder
    from bot.knowledge.vectors import cache_file, passage_vectors

    encoder = load_encoder("default", ROOT / "data" / "models").encoder
    if encoder is None:
        raise SystemExit("embedding model not installed: run `python -m bot model install`")
    vectors = passage_vectors(kb, encoder, cache_file(args.cache / "scifact", encoder))
    return Semantics(encoder, vectors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--idf", choices=["lucene", "okapi"], default="lucene")
    parser.add_argument("--k1", type=float, default=1.5)
    parser.add_argument("--b", type=float, default=0.75)
    parser.add_argument("--no-expansion", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--model", action="store_true", help="embedding model on")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench-cache")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    root = args.data / "scifact"
    if not (root / "corpus.jsonl").is_file():
        print(f"SciFact not found under {args.data}; nothing to evaluate")
        return 0
    queries = {
        q["_id"]: q["text"]
        for q in map(json.loads, (root / "queries.jsonl").read_text().splitlines())
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels_test.beir.tsv").read_text().splitlines()[1:]:
        qid, doc, grade = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(grade)

    config = EngineConfig(k1=args.k1, b=args.b, idf_mode=args.idf)
    if args.no_expansion:
        no_expansion = config.tuning.model_copy(update={"expansion_prefix": 0})
        config = replace(config, tuning=no_expansion)
    with tempfile.TemporaryDirectory() as scratch:
        write_corpus(root / "corpus.jsonl", Path(scratch))
        kb = load_knowledge(Path(scratch))
    started = time.perf_counter()
    engine = Engine(kb, config, semantics=semantics_of(kb, args) if args.model else None)
    build_s = time.perf_counter() - started

    ndcg, recall, latency = [], [], []
    for qid, rel in tqdm(qrels.items(), desc="scifact", leave=False):
        t0 = time.perf_counter()
        ranked = rank_documents(engine, queries[qid], 100)
        latency.append((time.perf_counter() - t0) * 1000)
        ndcg.append(ndcg_at_k(ranked, rel, 10))
        recall.append(recall_at_k(ranked, rel, 100))
    results = {
        "queries": len(qrels),
        "documents": len(kb.articles),
        "passages": len(kb.passages),
        "config": {
            "k1": args.k1,
            "b": args.b,
            "idf": args.idf,
            "expansion": not args.no_expansion,
            "model": args.model,
        },
        "engine": {
            "ndcg@10": statistics.fmean(ndcg),
            "recall@100": statistics.fmean(recall),
            "p50_ms": percentile(latency, 50),
            "p95_ms": percentile(latency, 95),
            "build_s": build_s,
        },
        "published": {
            "beir_bm25_ndcg@10": 0.665,
            "anserini_ndcg@10": 0.679,
            "anserini_recall@100": 0.925,
        },
    }
    if not args.no_baseline:
        from rank_bm25 import BM25Okapi

        docs = [json.loads(x) for x in (root / "corpus.jsonl").read_text().splitlines()]
        ids = [d["_id"] for d in docs]
        bm25 = BM25Okapi([tokens(f"{d.get('title', '')} {d.get('text', '')}") for d in docs])
        b_ndcg, b_recall = [], []
        for qid, rel in tqdm(qrels.items(), desc="baseline", leave=False):
            scores = bm25.get_scores(tokens(queries[qid]))
            ranked = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -scores[i])[:100]]
            b_ndcg.append(ndcg_at_k(ranked, rel, 10))
            b_recall.append(recall_at_k(ranked, rel, 100))
        results["baseline"] = {
            "ndcg@10": statistics.fmean(b_ndcg),
            "recall@100": statistics.fmean(b_recall),
        }
    e = results["engine"]
    print(
        f"SciFact test ({len(qrels)} queries, {len(kb.articles)} abstracts, "
        f"{len(kb.passages)} passages; idf {args.idf}, k1 {args.k1}, b {args.b}; "
        f"model {'on' if args.model else 'off'})"
    )
    print(
        f"  engine    nDCG@10 {e['ndcg@10']:.3f}  recall@100 {e['recall@100']:.3f}  "
        f"p50/p95 {e['p50_ms']:.1f}/{e['p95_ms']:.1f} ms"
    )
    if "baseline" in results:
        b = results["baseline"]
        print(f"  baseline  nDCG@10 {b['ndcg@10']:.3f}  recall@100 {b['recall@100']:.3f}")
    print("  published nDCG@10 0.665 (BEIR), 0.679 / recall@100 0.925 (Anserini)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
