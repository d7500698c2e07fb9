"""Passage vectors for the dense retrieval path, cached on disk by passage content.

One file per model beside the index cache (`<cache>/vectors/<model key>.npz`): each passage's
content key and its float16 vector. On a rebuild only passages whose title or text changed
are embedded again. float16 halves the memory of float32 and moves cosines by < 1e-3.
The service computes them in the background (bot/knowledge/background.py); `passage_vectors`
computes them at once (tests, evaluation).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.articles.models import KnowledgeBase
from bot.core.retrieval.dense import Encoder, passage_text
from bot.core.storage.atomic import write_atomically
from bot.core.storage.npz import write_npz

log = logging.getLogger(__name__)

CHUNK = 256  # passages embedded between progress lines


KEY_BYTES = 16


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def cache_file(cache_dir: Path, encoder: Encoder) -> Path:
    model = hashlib.sha256(encoder.name.encode()).hexdigest()[:12]
    return cache_dir / "vectors" / f"{model}.npz"


def _read(path: Path, dimension: int) -> dict[bytes, np.ndarray]:
    try:
        with np.load(path) as data:
            keys, vectors = data["keys"], data["vectors"]
        if vectors.ndim != 2 or vectors.shape[1] != dimension or len(keys) != len(vectors):
            raise ValueError(f"shape {vectors.shape}")
    except FileNotFoundError:
        return {}
    except Exception:  # a damaged cache is recomputed, never trusted
        log.warning("passage vector cache %s is unreadable; recomputing", path, exc_info=True)
        return {}
    # numpy's S16 drops trailing NUL bytes (1 key in 256 ends with one): pad them back.
    return {bytes(k).ljust(KEY_BYTES, b"\0"): v for k, v in zip(keys, vectors, strict=True)}


@dataclass(slots=True)
class VectorPlan:
    """A knowledge base's passage vectors so far: the rows the cache had, and those to embed.

    `vectors` is private to whoever fills it; it is published (made read-only) once full.
    """

    texts: list[str]
    keys: list[bytes]
    vectors: np.ndarray  # float16, one row per passage
    missing: list[int]  # rows still zero, in passage order
    path: Path | None
    stale: bool  # the cache file holds other passages' vectors: rewrite it

    @property
    def total(self) -> int:
        return len(self.keys)


def plan_vectors(kb: KnowledgeBase, dimension: int, path: Path | None) -> VectorPlan:
    """Read what the cache already holds for `kb`'s passages (content keys, not positions)."""
    titles = {a.id: a.title for a in kb.articles}
    texts = [passage_text(titles[p.article_id], p.text) for p in kb.passages]
    keys = [_key(t) for t in texts]
    known = _read(path, dimension) if path is not None else {}
    out = np.zeros((len(texts), dimension), dtype=np.float16)
    missing = []
    for i, key in enumerate(keys):
        vector = known.get(key)
        if vector is None:
            missing.append(i)
        else:
            out[i] = vector
    return VectorPlan(texts, keys, out, missing, path, set(known) != set(keys))


def save_vectors(plan: VectorPlan, done: int | None = None) -> None:
    """Persist every row the plan has (all but `plan.missing[done:]`); errors are logged.

    A cancelled job saves its partial work: the next build embeds only what is left.
    """
    if plan.path is None:
        return
    rows = np.ones(plan.total, dtype=bool)
    if done is not None:
        rows[plan.missing[done:]] = False
    try:
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(plan.keys), dtype="S16") if plan.keys else np.zeros(0, "S16")
        arrays = {"keys": keys[rows], "vectors": plan.vectors[rows]}
        write_atomically(plan.path, lambda f: write_npz(f, arrays))
    except OSError as exc:
        log.warning("could not save passage vectors to %s: %s", plan.path, exc.strerror or exc)


def passage_vectors(kb: KnowledgeBase, encoder: Encoder, path: Path | None) -> np.ndarray:
    """One float16 unit vector per passage of `kb` (its order), reusing cached ones; now."""
    plan = plan_vectors(kb, encoder.dimension, path)
    started = time.perf_counter()
    for n in range(0, len(plan.missing), CHUNK):
        chunk = plan.missing[n : n + CHUNK]
        plan.vectors[chunk] = encoder.encode([plan.texts[i] for i in chunk]).astype(np.float16)
        log.info(
            "embedded %d of %d new passages (%.0f s)",
            min(n + CHUNK, len(plan.missing)),
            len(plan.missing),
            time.perf_counter() - started,
        )
    if plan.missing or plan.stale:
        save_vectors(plan)
    return plan.vectors
