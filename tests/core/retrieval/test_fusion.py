"""Search's score fusion: exact against scoring every passage, BM25 alone at share 0."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.retrieval.fusion import convex_fusion, cosines


def brute_force(
    bm25: np.ndarray, cosines: np.ndarray, share: float, nearest: int, k: int
) -> list[int]:
    """Every passage scored by the documented formula, eligible if BM25 matched it or it is
    among the `nearest`; best first, ties by position."""
    near = np.argsort(-cosines, kind="stable")[:nearest]
    floor, top = cosines[near].min(), cosines[near].max()
    scaled = np.clip((cosines.astype(np.float64) - floor) / max(top - floor, 1e-9), 0, None)
    best = bm25.max()
    fused = share * scaled + ((1 - share) * bm25 / best if best > 0 else 0.0)
    eligible = bm25 > 0
    eligible[near] = True
    order = [i for i in np.lexsort((np.arange(len(bm25)), -fused)) if eligible[i]]
    return [int(i) for i in order[:k]]


def lexical_best(bm25: np.ndarray, k: int) -> list[tuple[int, float]]:
    matched = np.flatnonzero(bm25 > 0)
    order = matched[np.lexsort((matched, -bm25[matched]))][:k]
    return [(int(i), float(bm25[i])) for i in order]


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    share=st.sampled_from([0.0, 0.2, 0.35, 0.7, 0.95]),
    nearest=st.integers(1, 80),
    k=st.integers(1, 30),
)
# Two passages tied at the nearest-th cosine: the one first in position is the one eligible.
@example(seed=5, n=10, share=0.0, nearest=5, k=7)
def test_fusion_over_bm25s_best_k_equals_scoring_every_passage(
    seed: int, n: int, share: float, nearest: int, k: int
) -> None:
    """Fusing only BM25's best k with the nearest passages gives the same top k as scoring
    every passage (a passage in neither scores at most BM25's k-th)."""
    rng = np.random.default_rng(seed)
    bm25 = np.where(rng.random(n) < 0.5, rng.random(n) * 10, 0.0)
    cosines = rng.random(n).astype(np.float32) * 2 - 1
    cosines[rng.integers(0, n)] = cosines[0]  # ties happen with real vectors too
    found = convex_fusion(bm25, lexical_best(bm25, k), cosines, share, nearest, k)
    assert [i for i, _ in found] == brute_force(bm25, cosines, share, nearest, k)
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(found))


def test_share_zero_keeps_bm25s_order_and_a_query_matching_nothing_ranks_by_meaning() -> None:
    """At share 0 the passages BM25 ranks keep its order ahead of the rest; with no BM25
    match at all, the nearest passages by cosine come back, nearest first."""
    bm25 = np.array([0.0, 3.0, 0.0, 5.0, 1.0])
    cosines = np.array([0.9, 0.1, 0.5, 0.2, 0.3], dtype=np.float32)
    lexical = lexical_best(bm25, 5)
    assert [i for i, _ in convex_fusion(bm25, lexical, cosines, 0.0, 5, 3)] == [3, 1, 4]
    assert [i for i, _ in convex_fusion(np.zeros(5), [], cosines, 0.35, 3, 5)] == [0, 2, 4]


def test_cosines_of_float16_rows_equal_float32_products() -> None:
    """Rows stored as float16 (passage vectors) give the float32 product of those rows,
    across chunk boundaries."""
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(2500, 8)).astype(np.float16)
    query = rng.normal(size=8).astype(np.float32)
    wide = rows.astype(np.float32)
    np.testing.assert_allclose(cosines(rows, query), wide @ query, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(cosines(wide, query), wide @ query)
