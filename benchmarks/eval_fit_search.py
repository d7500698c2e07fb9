"""Fit how `Engine.search` fuses BM25 with the dense path, on dev data only.

Per query, the full BM25 score vector (what `Engine.search` computes: the query's terms plus
their related forms) and the full cosine vector (question × passage vectors) are recorded
once into an `.npz` (`--records`); every fusion is then scored offline on them:

- reciprocal-rank fusion (RRF): BM25's ranking (weight 1) + the `n` nearest passages by
  cosine (weight w), constant k — the machinery `ask`'s candidates use;
- a convex combination of normalised scores (bot/core/retrieval/fusion.py): what search
  ships, as it scored higher than every RRF of the grid on both dev sets.

Dev sets (relevance = the passage holding the answer):
- SQuAD v1.1 dev questions (seed 1, disjoint from the seed-0 evaluation samples) against the
  48-article base: the passage that holds the gold answer span;
- the users'-words dev set (first turn of each conversation with an answer) against the 48
  articles + the bundled one: the gold article's passages that contain a gold answer.

Objective: the mean of the two sets' nDCG@10. SciFact's test queries can be recorded too
(`--scifact`) and are scored for information only: nothing is chosen on them.

    python benchmarks/eval_fit_search.py --sample 1000 [--scifact] [--write]

Reads /work/shared/data, the installed model and passage vectors cached under `--cache`
(embedded there on first use: minutes for SciFact's 7,387 passages).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.core.answering.tuning import TUNING_FILE, SearchFusion, load_tuning, write_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Encoder
from bot.core.retrieval.fusion import convex_fusion
from bot.core.text.analysis import analyze
from bot.embedding import load_encoder
from bot.evaluation.metrics import ndcg_at_k, recall_at_k
from bot.knowledge.vectors import cache_file, passage_vectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")
MODELS = ROOT / "data" / "models"
RESULTS = ROOT / "benchmarks" / "results"

WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
RRF_KS = [10.0, 30.0, 60.0]
CANDIDATES = [20, 50, 100, 300]
SHARES = [0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6]
NEAREST = [20, 50, 100, 300]


def read_raw(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def squad_gold(kb: KnowledgeBase, folder: Path, row: dict) -> list[int]:
    """Positions of the passage(s) holding the row's answer span (its paragraph, its offset)."""
    article = f"{row['article']}.md"
    raw = (folder / article).read_text(encoding="utf-8")
    body = raw.index("\n---", 3) + len("\n---\n")
    blocks = [m.start() + body for m in re.finditer(r"(?:^|(?<=\n\n))[^\n]", raw[body:])]
    gold: set[int] = set()
    positions = [i for i, p in enumerate(kb.passages) if p.article_id == article]
    if row["paragraph_index"] < len(blocks):
        start = blocks[row["paragraph_index"]]
        for answer, offset in zip(row["answers"], row["answer_starts"], strict=True):
            at = start + offset
            if raw[at : at + len(answer)] != answer:
                continue
            gold |= {i for i in positions if kb.passages[i].start <= at < kb.passages[i].end}
    if not gold:  # the span did not line up: any passage of the article holding an answer
        gold = {i for i in positions if any(a in kb.passages[i].text for a in row["answers"])}
    return sorted(gold)


def words_gold(kb: KnowledgeBase, article_stem: str, answers: Sequence[str]) -> list[int]:
    wanted = [a.casefold() for a in answers]
    return [
        i
        for i, p in enumerate(kb.passages)
        if Path(p.article_id).stem == article_stem and any(a in p.text.casefold() for a in wanted)
    ]


def record(
    engine: Engine, vectors: np.ndarray, encoder: Encoder, queries: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every query's full BM25 and cosine vectors (float32, queries × passages)."""
    bm25 = np.zeros((len(queries), len(vectors)), dtype=np.float32)
    cos = np.zeros_like(bm25)
    matrix = vectors.astype(np.float32)
    for n, query in enumerate(queries):
        terms = analyze(query, names=False)
        if terms:
            bm25[n] = engine._scores(terms, ())
        cos[n] = matrix @ encoder.encode([query])[0]
    return bm25, cos


def rrf_rank(
    bm25: np.ndarray, cos: np.ndarray, k: int, w: float, rrf_k: float, n: int
) -> list[int]:
    """What Engine._ranked returns for these scores (lucene idf: eligible = score > 0)."""
    matched = np.flatnonzero(bm25 > 0)
    depth = max(k, n) if w > 0 else k
    lexical = matched[np.lexsort((matched, -bm25[matched]))][:depth]
    if w <= 0:
        return [int(i) for i in lexical]
    near = np.argpartition(-cos, min(n, len(cos)) - 1)[:n]
    near = near[np.lexsort((near, -cos[near]))]
    fused: dict[int, float] = {}
    for ranking, weight in ((lexical, 1.0), (near, w)):
        for rank, i in enumerate(ranking, start=1):
            fused[int(i)] = fused.get(int(i), 0.0) + weight / (rrf_k + rank)
    return [i for i, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))][:k]


def rrf_ranker(w: float, rrf_k: float, n: int) -> Callable[..., list[int]]:
    return lambda b, c, k: rrf_rank(b, c, k, w, rrf_k, n)


def convex_ranker(share: float, nearest: int) -> Callable[..., list[int]]:
    return lambda b, c, k: convex_rank(b, c, k, share, nearest)


def convex_rank(bm25: np.ndarray, cos: np.ndarray, k: int, share: float, nearest: int) -> list[int]:
    """What Engine.search returns: the product's convex_fusion over BM25's best k."""
    matched = np.flatnonzero(bm25 > 0)
    best = matched[np.lexsort((matched, -bm25[matched]))][:k]
    lexical = [(int(i), float(bm25[i])) for i in best]
    if share <= 0:
        return [i for i, _ in lexical]
    return [i for i, _ in convex_fusion(bm25, lexical, cos, share, nearest, k)]


def scores(
    bm25: np.ndarray,
    cos: np.ndarray,
    gold: list[list[int]],
    rank: Callable[[np.ndarray, np.ndarray], list[int]],
    docs: Callable[[list[int]], list[str]] | None = None,
) -> tuple[float, float]:
    """Mean nDCG@10 and recall@100 (passages, or documents by their best passage)."""
    ndcg, recall = [], []
    for q in range(len(bm25)):
        ranked = rank(bm25[q], cos[q])
        if docs is not None:
            ids = docs(ranked)
            relevant = {d: 1 for d in gold_docs[q]}
        else:
            ids = [str(i) for i in ranked]
            relevant = {str(i): 1 for i in gold[q]}
        ndcg.append(ndcg_at_k(ids, relevant, 10))
        recall.append(recall_at_k(ids, relevant, 100))
    return float(np.mean(ndcg)), float(np.mean(recall))


gold_docs: list[list[str]] = []  # SciFact's relevant documents per query (set in main)


def load_set(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench-cache")
    parser.add_argument("--records", type=Path, default=ROOT / "data" / "bench-cache" / "search")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scifact", action="store_true", help="also score SciFact (information)")
    parser.add_argument("--write", action="store_true", help="write the choice to tuning.json")
    args = parser.parse_args(argv)
    if not (args.data / "squad-v1.1" / "knowledge").is_dir():
        print(f"evaluation data not found under {args.data}; nothing to fit")
        return 0
    encoder = load_encoder("default", args.models).encoder
    if encoder is None:
        print("embedding model not installed; nothing to fit")
        return 0
    args.records.mkdir(parents=True, exist_ok=True)
    tuning = load_tuning()
    config = EngineConfig(tuning=tuning)
    sets: dict[str, dict[str, np.ndarray]] = {}

    squad_dir = args.data / "squad-v1.1" / "knowledge"
    squad_kb = load_knowledge(squad_dir)
    bundled = load_knowledge(ROOT / "knowledge")
    for name in ("squad", "words"):
        path = args.records / f"{name}-s{args.sample}-seed{args.seed}.npz"
        if not path.exists():
            started = time.perf_counter()
            if name == "squad":
                kb = squad_kb
                rows = read_raw(args.data / "squad-v1.1" / "dev.jsonl")
                rng = np.random.default_rng(args.seed)
                rows = [rows[i] for i in sorted(rng.permutation(len(rows))[: args.sample])]
                queries = [r["question"] for r in rows]
                gold = [squad_gold(kb, squad_dir, r) for r in rows]
                vectors = passage_vectors(
                    kb, encoder, cache_file(args.cache / "squad-v1.1", encoder)
                )
            else:
                kb = KnowledgeBase(squad_kb.articles + bundled.articles)
                conversations = [
                    c for c in read_raw(ROOT / "benchmarks/data/user_words_dev.jsonl")
                    if c["turns"][0].get("answers")
                ]  # fmt: skip
                queries = [c["turns"][0]["question"] for c in conversations]
                gold = [words_gold(kb, c["article"], c["turns"][0]["answers"])
                        for c in conversations]  # fmt: skip
                parts = [
                    passage_vectors(
                        squad_kb, encoder, cache_file(args.cache / "squad-v1.1", encoder)
                    ),
                    passage_vectors(bundled, encoder, cache_file(args.cache / "bundled", encoder)),
                ]
                vectors = np.concatenate(parts)
            engine = Engine(kb, config)
            bm25, cos = record(engine, vectors, encoder, queries)
            flat = np.array([g for gs in gold for g in gs], dtype=np.int64)
            ends = np.cumsum([len(gs) for gs in gold])
            np.savez(path, bm25=bm25, cos=cos, gold=flat, gold_ends=ends)
            print(
                f"recorded {name}: {len(queries)} queries in {time.perf_counter() - started:.0f} s"
            )
        sets[name] = load_set(path)
    if args.scifact:
        sets["scifact"] = scifact_records(args, encoder, config)

    def golds(data: dict[str, np.ndarray]) -> list[list[int]]:
        return [list(g) for g in np.split(data["gold"], data["gold_ends"][:-1])]

    def evaluate(data: dict[str, np.ndarray], rank: Callable, k: int) -> tuple[float, float]:
        docs = None
        if "doc_of" in data:
            doc_of = data["doc_of"]

            def docs(ranked: list[int]) -> list[str]:
                return list(dict.fromkeys(str(doc_of[i]) for i in ranked))[:100]

        return scores(data["bm25"], data["cos"], golds(data), lambda b, c: rank(b, c, k), docs)

    depth = {"squad": 100, "words": 100, "scifact": 300}
    lines = [
        f"# search fusion on dev (SQuAD v1.1 dev {args.sample} seed {args.seed}; users' words)"
    ]
    lines.append("# nDCG@10 / recall@100 per set; objective = mean nDCG@10 of squad and words")
    table: list[tuple[float, str, dict]] = []
    for n in CANDIDATES:
        for rrf_k in RRF_KS:
            for w in WEIGHTS:
                if w == 0 and (n, rrf_k) != (CANDIDATES[0], RRF_KS[0]):
                    continue
                fusion = {"kind": "rrf", "dense_weight": w, "rrf_k": rrf_k, "dense_candidates": n}
                got = {s: evaluate(d, rrf_ranker(w, rrf_k, n), depth[s])
                       for s, d in sets.items()}  # fmt: skip
                table.append(report(got, fusion, lines))
    for nearest in NEAREST:
        for share in SHARES:
            fusion = {"kind": "convex", "cosine_share": share, "nearest": nearest}
            got = {s: evaluate(d, convex_ranker(share, nearest), depth[s])
                   for s, d in sets.items()}  # fmt: skip
            table.append(report(got, fusion, lines))
    convex = [t for t in table if t[2]["kind"] == "convex"]
    # Ties (within 0.001) go to the fewest nearest passages (cheaper), then the lower share.
    top = max(t[0] for t in convex)
    near_top = [t for t in convex if t[0] >= top - 1e-3]
    chosen = min(near_top, key=lambda t: (t[2]["nearest"], t[2]["cosine_share"]))
    best_rrf = max((t for t in table if t[2]["kind"] == "rrf"), key=lambda t: t[0])
    lines.append(f"# best RRF: {best_rrf[1]} (objective {best_rrf[0]:.4f})")
    lines.append(f"# chosen (convex, best objective; ties to fewer nearest, then lower share): "
                 f"{chosen[1]} (objective {chosen[0]:.4f})")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    (RESULTS / "search-fusion-dev.txt").write_text(text + "\n", encoding="utf-8")
    if args.write:
        c = chosen[2]
        search = SearchFusion(cosine_share=c["cosine_share"], nearest=c["nearest"])
        semantic = tuning.semantic.model_copy(update={"search": search})
        fitted = dict(tuning.fitted)
        # Parts joined by " || ": re-ranking's, abstention's, then this one ("Search: ...").
        kept = [p for p in fitted["semantic"].split(" || ") if not p.startswith("Search: ")]
        fitted["semantic"] = " || ".join(kept) + (
            f" || Search: benchmarks/eval_fit_search.py --sample {args.sample} --write "
            f"(benchmarks/results/search-fusion-dev.txt): convex combination of BM25 / best "
            f"BM25 and the cosine scaled over the nearest passages, by grid on SQuAD v1.1 "
            f"dev (seed {args.seed}: the passage holding the answer) and the users'-words dev "
            f"set, mean nDCG@10, ties to fewer nearest then lower share; it beat every "
            f"reciprocal-rank fusion of the grid; SciFact not used"
        )
        write_tuning(tuning.model_copy(update={"semantic": semantic, "fitted": fitted}),
                     TUNING_FILE)  # fmt: skip
        print(f"wrote {TUNING_FILE}")
    return 0


def report(got: dict[str, tuple[float, float]], fusion: dict, lines: list[str]) -> tuple:
    objective = (got["squad"][0] + got["words"][0]) / 2
    if fusion["kind"] == "rrf":
        label = (f"rrf w {fusion['dense_weight']:<4} k {fusion['rrf_k']:<4.0f} "
                 f"n {fusion['dense_candidates']:<3}")  # fmt: skip
    else:
        label = f"convex share {fusion['cosine_share']:<4} nearest {fusion['nearest']:<3}"
    cells = "  ".join(f"{s} {a:.3f}/{b:.3f}" for s, (a, b) in got.items())
    lines.append(f"{label:28} objective {objective:.4f}  {cells}")
    return objective, label, fusion


def scifact_records(
    args: argparse.Namespace, encoder, config: EngineConfig
) -> dict[str, np.ndarray]:
    """SciFact test queries (information only): full score vectors and each passage's doc."""
    global gold_docs
    root = args.data / "scifact"
    path = args.records / "scifact.npz"
    queries = {q["_id"]: q["text"] for q in read_raw(root / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels_test.beir.tsv").read_text().splitlines()[1:]:
        qid, doc, grade = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(grade)
    gold_docs = [[d for d, g in rel.items() if g > 0] for rel in qrels.values()]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from eval_scifact import write_corpus

    with tempfile.TemporaryDirectory() as scratch:
        write_corpus(root / "corpus.jsonl", Path(scratch))
        kb = load_knowledge(Path(scratch))
    doc_of = np.array([Path(p.article_id).stem for p in kb.passages])
    if not path.exists():
        vectors = passage_vectors(kb, encoder, cache_file(args.cache / "scifact", encoder))
        bm25, cos = record(Engine(kb, config), vectors, encoder, [queries[q] for q in qrels])
        np.savez(path, bm25=bm25, cos=cos)
    data = load_set(path)
    data["doc_of"] = doc_of
    data["gold"] = np.zeros(0, dtype=np.int64)
    data["gold_ends"] = np.zeros(len(qrels), dtype=np.int64)
    return data


if __name__ == "__main__":
    sys.exit(main())
