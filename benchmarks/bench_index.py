"""Benchmark BM25Index against rank_bm25.BM25Okapi on real English, in one run.

Passages are recombined from the sentences of the SQuAD knowledge articles, queries are
SQuAD dev questions; both are tokenised as lowercase ``\\w+`` words.

    python benchmarks/bench_index.py 10000 [100000 ...] [--queries 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from bot.core.retrieval.index import BM25Index

DATA = Path("/work/shared/data/squad-v1.1")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def tokenize(text: str) -> list[str]:
    """Return the lowercase ``\\w+`` words of a text."""
    return _WORD.findall(text.lower())


def article_sentences(folder: Path) -> list[str]:
    """Return every sentence of the paragraphs after each file's YAML front matter."""
    sentences: list[str] = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            _, _, text = text[3:].partition("\n---")
        for paragraph in text.split("\n\n"):
            paragraph = paragraph.strip()
            if paragraph:
                sentences.extend(s for s in _SENTENCE_END.split(paragraph) if s.strip())
    return sentences


def recombine(sentences: Sequence[str], n: int, rng: random.Random) -> list[str]:
    """Return n passages of 2–6 random sentences each."""
    return [" ".join(rng.choices(sentences, k=rng.randint(2, 6))) for _ in range(n)]


def sample_questions(path: Path, n: int, rng: random.Random) -> list[str]:
    """Return n questions drawn from a SQuAD jsonl file."""
    with path.open(encoding="utf-8") as file:
        questions = [json.loads(line)["question"] for line in file if line.strip()]
    return rng.sample(questions, n)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Return the p50 and p95 of durations, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return statistics.median(ms), p95


def oracle_top(scores: np.ndarray, k: int = 10) -> list[int]:
    """Return the positive top-k positions, best first, ties by lower position."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return [int(d) for d in order if scores[d] > 0]


def run(n: int, n_queries: int, seed: int) -> None:
    """Benchmark one corpus size and print a Markdown table."""
    rng = random.Random(seed)
    sentences = article_sentences(DATA / "knowledge")
    if not sentences:
        print(f"no articles under {DATA / 'knowledge'}; skipped", file=sys.stderr)
        return
    tokenize_s, corpus = timed(lambda: [tokenize(p) for p in recombine(sentences, n, rng)])
    queries = [tokenize(q) for q in sample_questions(DATA / "dev.jsonl", n_queries, rng)]
    n_tokens = sum(map(len, corpus))

    ref_build, reference = timed(lambda: BM25Okapi(corpus))
    ours_build, index = timed(lambda: BM25Index(corpus))

    ref_score_times, ref_top_times, ref_scores = [], [], []
    for query in queries:
        seconds, scores = timed(lambda q=query: reference.get_scores(q))
        sort_seconds, _ = timed(lambda s=scores: np.argsort(s)[::-1][:10])  # as get_top_n
        ref_score_times.append(seconds)
        ref_top_times.append(seconds + sort_seconds)
        ref_scores.append(scores)
    index.search(queries[0])  # warm-up
    search_times, score_times, max_diff, same_top, same_scores = [], [], 0.0, 0, 0
    for query, expected in zip(queries, ref_scores, strict=True):
        seconds, hits = timed(lambda q=query: index.search(q, 10))
        search_times.append(seconds)
        seconds, scores = timed(lambda q=query: index.get_scores(q))
        score_times.append(seconds)
        max_diff = max(max_diff, float(np.max(np.abs(scores - expected), initial=0.0)))
        top = oracle_top(expected)
        same_top += [h.doc for h in hits] == top  # type: ignore[union-attr]
        same_scores += sorted(h.score for h in hits) == sorted(expected[top].tolist())  # type: ignore[union-attr]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.npz"
        save_s, _ = timed(lambda: index.save(path))
        size_mib = path.stat().st_size / 2**20
        load_s, loaded = timed(lambda: BM25Index.load(path))
    assert np.array_equal(loaded.get_scores(queries[0]), index.get_scores(queries[0]))  # type: ignore[union-attr]

    ref_p50, ref_p95 = percentiles_ms(ref_top_times)
    rg_p50, rg_p95 = percentiles_ms(ref_score_times)
    s_p50, s_p95 = percentiles_ms(search_times)
    g_p50, g_p95 = percentiles_ms(score_times)
    m = index._matrix
    index_mib = (m.data.nbytes + m.indices.nbytes + m.indptr.nbytes) / 2**20

    print(
        f"\n### {n:,} passages, {n_tokens:,} tokens, {index.vocabulary_size:,} terms, "
        f"{m.nnz:,} postings; {len(queries)} SQuAD questions "
        f"(tokenise {tokenize_s:.1f} s)\n"
    )
    print("| measure | rank-bm25 | BM25Index | rank-bm25 / BM25Index |")
    print("|---|---|---|---|")
    print(f"| build | {ref_build:.2f} s | {ours_build:.2f} s | {ref_build / ours_build:.1f}× |")
    for label, ref, ours in (("p50", ref_p50, s_p50), ("p95", ref_p95, s_p95)):
        print(f"| query {label} (top-10) | {ref:.1f} ms | {ours:.2f} ms | {ref / ours:.0f}× |")
    print(
        f"| get_scores p50 / p95 | {rg_p50:.1f} / {rg_p95:.1f} ms | {g_p50:.2f} / {g_p95:.2f} ms "
        f"| {rg_p50 / g_p50:.0f}× / {rg_p95 / g_p95:.0f}× |"
    )
    print(f"| save / load ({size_mib:.1f} MiB .npz) | – | {save_s:.2f} / {load_s:.2f} s | – |")
    print(f"| sparse matrix in memory | – | {index_mib:.1f} MiB | – |")
    print(f"| max abs score diff | reference | {max_diff:.3g} | – |")
    print(
        f"| identical top-10 (positions / scores) | reference | {same_top}/{len(queries)} / "
        f"{same_scores}/{len(queries)} | – |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse sizes from the command line and benchmark each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="+", help="numbers of passages, e.g. 10000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for n in args.sizes:
        run(n, args.queries, args.seed)


if __name__ == "__main__":
    main()
