"""The dense (embedding) side of retrieval: the encoder the core is given, and vector search.

The core never loads a model: an adapter (bot/embedding) hands it an `Encoder`. Vectors are
unit length, so a dot product is the cosine. Everything here is deterministic: the encoder
embeds each text on its own (its vector depends on nothing else), and ties break by position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    """Texts → one unit-length float32 vector per text (rows of a len(texts) × d matrix)."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def top_by_cosine(query: np.ndarray, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k rows of `vectors` (unit length) nearest `query`, best first.

    Exact search: one matrix-vector product, fine up to the sizes in docs/performance.md.
    Give it float32: numpy has no BLAS for float16 (measured 16× slower at 100k passages).
    """
    if len(vectors) == 0 or k <= 0:
        return []
    # einsum: one thread, no BLAS pool to wake per question (on 2 loaded cores the pool's
    # hand-off cost more than the product itself: 6 ms vs 0.3 ms at 2,141 passages).
    scores = np.einsum("ij,j->i", vectors, query.astype(vectors.dtype)).astype(np.float32)
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


def passage_text(title: str, text: str) -> str:
    """What is embedded for a passage: its article title counts, as it does for BM25."""
    return f"{title}. {text}"


def text_key(text: str) -> int:
    """A sentence's 64-bit key: what stored sentence vectors are looked up by."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """Stored sentence vectors, found by text: `keys` (uint64, sorted, unique) → `vectors` rows.

    Two flat arrays, not a dict of arrays: 500k sentences (100k passages) are 4 MB of keys
    plus 384 MB of float16 vectors, and a lookup is one binary search per text.
    """

    keys: np.ndarray
    vectors: np.ndarray

    @staticmethod
    def of(keys: np.ndarray, vectors: np.ndarray) -> SentenceVectors:
        """From keys in any order, with duplicates (the same sentence in two passages)."""
        keys, first = np.unique(keys.astype(np.uint64), return_index=True)
        rows = np.ascontiguousarray(vectors[first])
        rows.flags.writeable = False
        return SentenceVectors(keys, rows)

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's row in `vectors`, −1 where it is not stored."""
        wanted = np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        at = np.searchsorted(self.keys, wanted)
        at[at >= len(self.keys)] = 0
        hit = self.keys[at] == wanted if len(self.keys) else np.zeros(len(texts), dtype=bool)
        return np.where(hit, at, -1)


class Semantics:
    """An encoder plus the knowledge base's stored vectors (once computed), with a text cache.

    `passage_vectors` rows follow the knowledge base's passages; None: no dense path (not yet
    computed — a background job publishes them — or the knowledge base is larger than the
    configured limit). `sentences`: the vectors of every passage's sentences, computed with
    them, so a question embeds only itself (and any sentence not stored, e.g. one narrowed
    around its terms). Both are published together, once, by one reference assignment and
    never written to after: a question reads the reference once and keeps that snapshot.
    """

    def __init__(
        self,
        encoder: Encoder,
        passage_vectors: np.ndarray | None = None,
        cache_size: int = 50_000,
        *,
        pending: bool = False,
        sentences: SentenceVectors | None = None,
    ) -> None:
        """`pending`: passage vectors are being computed and will be published."""
        self.encoder = encoder
        self._stored = (_searchable(passage_vectors), sentences)
        self.pending = pending and passage_vectors is None
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    @property
    def ready(self) -> bool:
        """Whether the encoder can embed now: one still loading in the background says
        `ready = False` (bot/embedding/lazy.py), and questions are answered lexically."""
        return bool(getattr(self.encoder, "ready", True))

    @property
    def passage_vectors(self) -> np.ndarray | None:
        return self._stored[0]

    @property
    def sentences(self) -> SentenceVectors | None:
        return self._stored[1]

    def publish(
        self, passage_vectors: np.ndarray, sentences: SentenceVectors | None = None
    ) -> None:
        """Switch the dense path on: questions asked from now on see the full matrices."""
        self._stored = (_searchable(passage_vectors), sentences)
        self.pending = False

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`: stored sentence vectors where there are; otherwise a text
        seen before is not embedded again.

        Questions run on several threads at once: the cache is only read, grown by one
        update, or replaced whole (bounded), so a lookup never sees a half-made entry.
        """
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        stored = self._stored[1]
        if stored is not None and len(stored):
            unique = list(dict.fromkeys(texts))
            for text, row in zip(unique, stored.rows(unique), strict=True):
                if row >= 0:
                    found[text] = stored.vectors[row].astype(np.float32)
        cache = self._cache
        found.update((t, v) for t in set(texts) - found.keys() if (v := cache.get(t)) is not None)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            made = dict(zip(missing, self.encoder.encode(missing), strict=True))
            found.update(made)
            if len(cache) + len(made) > self._cache_size:
                self._cache = made  # simple and bounded; a warm cache refills in seconds
            else:
                cache.update(made)
        return np.vstack([found[t] for t in texts])

    def similarities(self, question: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.vectors(texts) @ question

    def nearest_passages(self, question: np.ndarray, k: int) -> list[tuple[int, float]]:
        vectors = self._stored[0]
        if vectors is None:
            return []
        return top_by_cosine(question, vectors, k)


def _searchable(vectors: np.ndarray | None) -> np.ndarray | None:
    """Passage vectors as searched: float32 (stored as float16 on disk; a float16 product has
    no BLAS and took 1 s at 100k passages vs 65 ms in float32), read-only."""
    return _frozen(vectors.astype(np.float32, copy=False)) if vectors is not None else None


def _frozen(vectors: np.ndarray | None) -> np.ndarray | None:
    """The matrix made read-only: a published snapshot is never changed in place."""
    if vectors is not None:
        vectors.flags.writeable = False
    return vectors
