"""The dense (embedding) side of retrieval: the encoder the core is given, and vector search.

The core never loads a model: an adapter (bot/embedding) hands it an `Encoder`. Vectors are
unit length, so a dot product is the cosine. Everything here is deterministic: the encoder
embeds each text on its own (its vector depends on nothing else), and ties break by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    """Texts → one unit-length float32 vector per text (rows of a len(texts) × d matrix)."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def top_by_cosine(query: np.ndarray, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k rows of `vectors` (float16/float32, unit length) nearest `query`, best first.

    Exact search: one matrix-vector product, fine up to the sizes in docs/performance.md.
    """
    if len(vectors) == 0 or k <= 0:
        return []
    scores = (vectors @ query.astype(vectors.dtype)).astype(np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]
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


class Semantics:
    """An encoder plus the knowledge base's passage vectors (if computed), with a text cache.

    `passage_vectors` rows follow the knowledge base's passages; None: no dense path (not
    computed, or the knowledge base is larger than the configured limit).
    """

    def __init__(
        self,
        encoder: Encoder,
        passage_vectors: np.ndarray | None = None,
        cache_size: int = 50_000,
    ) -> None:
        self.encoder = encoder
        self.passage_vectors = passage_vectors
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`; a text seen before is not embedded again."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()  # simple and bounded; a warm cache refills in seconds
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.vstack([self._cache[t] for t in texts])

    def similarities(self, question: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.vectors(texts) @ question

    def nearest_passages(self, question: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.passage_vectors is None:
            return []
        return top_by_cosine(question, self.passage_vectors, k)
