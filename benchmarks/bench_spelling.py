"""Cost of misspelling lookup at a large vocabulary, beside an unbucketed scan in the same run.

    python benchmarks/bench_spelling.py [--terms 2000000] [--queries 200]

The vocabulary is synthetic at the size a million passages of English reach (~2M distinct
terms, most of them rare): random lower-case strings of 4–14 letters with Zipf document
frequencies. Queries are vocabulary terms with one random edit (absent from it). Figures:
Speller build time, `nearest` p50/p95, and the same lookups by one rapidfuzz scan over the
whole vocabulary (the baseline bucketing by length avoids).
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.core.retrieval.spelling import Speller, max_edits
from bot.evaluation.metrics import percentile


def vocabulary(n: int, rng: random.Random) -> list[str]:
    seen: set[str] = set()
    while len(seen) < n:
        length = min(14, max(4, int(rng.gauss(8, 2.5))))
        seen.add("".join(rng.choices(string.ascii_lowercase, k=length)))
    return sorted(seen)


def misspelt(term: str, rng: random.Random) -> str:
    i = rng.randrange(len(term))
    kind = rng.choice("sdit")
    if kind == "s":
        return term[:i] + rng.choice(string.ascii_lowercase) + term[i + 1 :]
    if kind == "d":
        return term[:i] + term[i + 1 :]
    if kind == "i":
        return term[:i] + rng.choice(string.ascii_lowercase) + term[i:]
    j = min(i + 1, len(term) - 1)
    return term[:i] + term[j] + term[i] + term[j + 1 :] if j > i else term


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=2_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    rng = random.Random(0)
    terms = vocabulary(args.terms, rng)
    known = set(terms)
    # Zipf frequencies: about half the terms are seen in one passage only (no target).
    df = np.minimum(np.random.default_rng(0).zipf(1.6, len(terms)), 1_000_000)
    queries = []
    while len(queries) < args.queries:
        q = misspelt(rng.choice(terms), rng)
        if q not in known and len(q) >= 4:
            queries.append(q)

    started = time.perf_counter()
    speller = Speller(terms, df.astype(np.int64), min_doc_freq=2)
    build = time.perf_counter() - started
    ours = []
    for q in queries:
        t = time.perf_counter()
        speller.nearest(q)
        ours.append((time.perf_counter() - t) * 1000)
    targets = [t for t, f in zip(terms, df.tolist(), strict=True) if f >= 2]
    scan = []
    for q in queries[: max(20, args.queries // 10)]:
        t = time.perf_counter()
        process.extract(q, targets, scorer=OSA.distance, score_cutoff=max_edits(q), limit=None)
        scan.append((time.perf_counter() - t) * 1000)
    p50, base50 = percentile(ours, 50), percentile(scan, 50)
    print(f"vocabulary {len(terms):,} terms, {speller.size:,} targets (seen in 2+ passages)")
    print(f"Speller build: {build:.2f} s")
    print(f"nearest: p50 {p50:.1f} ms, p95 {percentile(ours, 95):.1f} ms ({len(ours)} queries)")
    print(f"baseline, one scan of all targets: p50 {base50:.1f} ms ({len(scan)} queries)")
    print(f"ratio nearest / scan (p50): {p50 / base50:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
