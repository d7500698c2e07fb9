"""Search's fusion of BM25 with the dense path: a convex combination of normalised scores.

Fitted on dev against reciprocal-rank fusion (benchmarks/eval_fit_search.py): with scores,
a passage BM25 ranks first by a wide margin keeps its place, which ranks alone cannot say.
Both scores are put on [0, 1] per query: BM25 divided by the best BM25 score; the cosine
scaled so the nearest passage is 1 and the `nearest`-th is 0 (passages farther get 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK = 1024  # rows converted to float32 at a time: stays in cache, no full copy


def cosines(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Every row's dot product with `query` (float32), for float16 or float32 rows.

    numpy multiplies float16 without BLAS (≈ 2.5× slower, measured at 7,387 × 384); rows
    converted in chunks make float32 products at a small fraction of the memory.
    """
    q = query.astype(np.float32)
    if vectors.dtype == np.float32:
        return vectors @ q
    out = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _CHUNK):
        out[start : start + _CHUNK] = vectors[start : start + _CHUNK].astype(np.float32) @ q
    return out


def convex_fusion(
    bm25: np.ndarray,
    lexical: Sequence[tuple[int, float]],
    cosines: np.ndarray,
    share: float,
    nearest: int,
    k: int,
) -> list[tuple[int, float]]:
    """The best k (position, fused score) pairs, best first; ties by position.

    `bm25`: every passage's BM25 score; `lexical`: BM25's best k (position, score), best
    first (the eligible matches); `cosines`: every passage's cosine with the query; `share`:
    the cosine's part of the fused score (0: BM25 alone; below 1). Exact: a passage in neither
    BM25's best k nor the `nearest` scores at most BM25's k-th.
    """
    if k <= 0 or len(cosines) == 0:
        return []
    near = _nearest(cosines, min(nearest, len(cosines)))
    floor, top = float(cosines[near].min()), float(cosines[near].max())
    best = max((s for _, s in lexical), default=0.0)
    candidates = np.union1d(near, np.array([i for i, _ in lexical], dtype=np.int64))
    scaled = (cosines[candidates].astype(np.float64) - floor) / max(top - floor, 1e-9)
    fused = share * np.clip(scaled, 0.0, None)
    if best > 0:
        fused += (1 - share) * np.clip(bm25[candidates], 0.0, None) / best
    order = np.lexsort((candidates, -fused))[:k]
    return [(int(candidates[j]), float(fused[j])) for j in order]


def _nearest(cosines: np.ndarray, n: int) -> np.ndarray:
    """The n largest cosines' positions, ties at the n-th broken by position (argpartition
    alone picks among equal values arbitrarily, and which passage is eligible would vary)."""
    threshold = -np.partition(-cosines, n - 1)[n - 1]
    above = np.flatnonzero(cosines > threshold)
    tied = np.flatnonzero(cosines == threshold)[: n - len(above)]
    return np.concatenate([above, tied])
