"""Vector search and rank fusion: exact, deterministic, ties broken by position."""

from __future__ import annotations

import numpy as np

from bot.core.retrieval.dense import reciprocal_rank_fusion, top_by_cosine


def test_top_by_cosine_is_exact_and_breaks_ties_by_position() -> None:
    """The k nearest unit vectors by dot product, best first; equal scores keep row order,
    and float16 storage gives the same order as float32."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[7] = vectors[3]  # a tie
    query = vectors[3] + 0.01 * rng.normal(size=16).astype(np.float32)
    query /= np.linalg.norm(query)
    found = top_by_cosine(query, vectors, 5)
    expected = np.argsort(-(vectors @ query), kind="stable")[:5]
    assert [i for i, _ in found] == list(expected)
    assert [i for i, _ in found][:2] == [3, 7]
    half = [i for i, _ in top_by_cosine(query, vectors.astype(np.float16), 5)]
    assert half[:2] == [3, 7]
    assert top_by_cosine(query, vectors[:0], 5) == []
    assert len(top_by_cosine(query, vectors[:3], 10)) == 3


def test_reciprocal_rank_fusion_sums_weighted_inverse_ranks() -> None:
    """score = Σ weight / (k + rank): an item both lists rank well beats one only a single
    list ranks first; a zero weight leaves the other ranking as it was."""
    bm25 = [10, 11, 12]
    dense = [12, 20, 10]
    fused = reciprocal_rank_fusion([bm25, dense], [1.0, 1.0], k=60)
    assert [i for i, _ in fused][:2] == [10, 12]
    assert fused[0][1] == 1 / 61 + 1 / 63
    only_bm25 = reciprocal_rank_fusion([bm25, dense], [1.0, 0.0], k=60)
    assert [i for i, _ in only_bm25][:3] == bm25
