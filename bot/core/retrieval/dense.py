"""The dense (embedding) side of retrieval: the encoder the core is given, and vector search.

The core never loads a model: an adapter (bot/embedding) hands it an `Encoder`. Vectors are
unit length, so a dot product is the cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    """Texts → one unit-length float32 vector per text (rows of a len(texts) × d matrix)."""

    name: str
    dimension: int

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray: ...


def top_by_cosine(query: np.ndarray, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k rows of `vectors` (float16/float32, unit length) nearest `query`, best first.

    Exact search: one matrix-vector product, fine up to the sizes in docs/performance.md.
    """
    if len(vectors) == 0 or k <= 0:
        return []
    scores = vectors @ query.astype(vectors.dtype)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], k: float = 60.0
) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score(id) = Σ weight / (k + rank), rank from 1; best first."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
