"""Passage and sentence vectors, cached on disk by passage content.

One file per model beside the index cache (`<cache>/vectors/<model key>.npz`): each passage's
content key and float16 vector, how many sentences it has (−1: not embedded yet — the
background job embeds every passage first, then their sentences), and their 64-bit text
keys and float16 vectors (in passage order). On a rebuild only passages whose title or text
changed are embedded again, with their sentences. float16 halves the memory of float32 and moves
cosines by < 1e-3. The service computes them in the background (bot/knowledge/background.py);
`stored_vectors` computes them at once (tests, evaluation).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.core.articles.models import KnowledgeBase
from bot.core.retrieval.dense import Encoder, SentenceVectors, passage_text, text_key
from bot.core.storage.atomic import write_atomically
from bot.core.storage.npz import write_npz
from bot.core.text.sentences import sentence_spans

log = logging.getLogger(__name__)

CHUNK = 256  # passages embedded between progress lines


KEY_BYTES = 16
_NO_KEYS = np.zeros(0, dtype=np.uint64)


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def sentence_texts(text: str) -> list[str]:
    """A passage's sentences as the answer composer reads them (the same spans)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def cache_file(cache_dir: Path, encoder: Encoder) -> Path:
    model = hashlib.sha256(encoder.name.encode()).hexdigest()[:12]
    return cache_dir / "vectors" / f"{model}.npz"


@dataclass(slots=True)
class _Cached:
    """What a cache file holds: passage key → row, and each row's sentences (offsets)."""

    rows: dict[bytes, int] = field(default_factory=dict)
    vectors: np.ndarray | None = None
    offsets: np.ndarray | None = None  # row i's sentences: offsets[i]:offsets[i + 1]
    split: np.ndarray | None = None  # row i's sentences are stored (its count was not −1)
    sentence_keys: np.ndarray = field(default_factory=lambda: _NO_KEYS)
    sentence_vectors: np.ndarray | None = None


def _read(path: Path, dimension: int) -> _Cached:
    try:
        with np.load(path) as data:
            keys, vectors = data["keys"], data["vectors"]
            counts, s_keys, s_vectors = (
                data["sentence_counts"],
                data["sentence_keys"],
                data["sentence_vectors"],
            )
        if vectors.ndim != 2 or vectors.shape[1] != dimension or len(keys) != len(vectors):
            raise ValueError(f"shape {vectors.shape}")
        stored = np.maximum(counts, 0)
        if len(counts) != len(keys) or s_vectors.shape != (int(stored.sum()), dimension):
            raise ValueError(f"sentence shape {s_vectors.shape}")
        if len(s_keys) != len(s_vectors):
            raise ValueError("sentence keys")
    except FileNotFoundError:
        return _Cached()
    except Exception:  # a damaged (or older-format) cache is recomputed, never trusted
        log.warning("vector cache %s is unreadable; recomputing", path, exc_info=True)
        return _Cached()
    # numpy's S16 drops trailing NUL bytes (1 key in 256 ends with one): pad them back.
    rows = {bytes(k).ljust(KEY_BYTES, b"\0"): i for i, k in enumerate(keys)}
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(stored, out=offsets[1:])
    return _Cached(rows, vectors, offsets, counts >= 0, s_keys.astype(np.uint64), s_vectors)


@dataclass(slots=True)
class VectorPlan:
    """A knowledge base's vectors so far: the rows the cache had, and those to embed.

    `vectors` (passages; `embedded` says which rows hold one) and `sentences` (per passage:
    its sentences' keys and float16 vectors; None until embedded) are private to whoever
    fills them, and published once each is full. `missing`: rows with no passage vector;
    `unsplit`: rows with one whose sentences are still to embed.
    """

    texts: list[str]  # what is embedded for each passage (title + text)
    bodies: list[str]  # each passage's own text, split into the sentences embedded
    keys: list[bytes]
    vectors: np.ndarray  # float16, one row per passage
    sentences: list[tuple[np.ndarray, np.ndarray] | None]
    missing: list[int]  # rows still to embed, in passage order
    path: Path | None
    stale: bool  # the cache file holds other passages' vectors: rewrite it
    embedded: np.ndarray  # bool per row: its passage vector is filled

    @property
    def total(self) -> int:
        return len(self.keys)

    def fill(self, row: int, passage: np.ndarray, sentences: np.ndarray, texts: list[str]) -> None:
        """Store one passage's vector and its sentences' (`texts`, their rows in order)."""
        self.fill_passage(row, passage)
        self.fill_sentences(row, sentences, texts)

    def fill_passage(self, row: int, passage: np.ndarray) -> None:
        self.vectors[row] = passage.astype(np.float16)
        self.embedded[row] = True

    def fill_sentences(self, row: int, sentences: np.ndarray, texts: list[str]) -> None:
        keys = np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        self.sentences[row] = (keys, sentences.astype(np.float16))

    def embed(self, rows: list[int], encoder: Encoder) -> None:
        """Embed these passages and their sentences (one `encode` call: batched by length)."""
        split = [sentence_texts(self.bodies[i]) for i in rows]
        texts = [self.texts[i] for i in rows] + [s for sentences in split for s in sentences]
        made = encoder.encode(texts)
        at = len(rows)
        for n, (row, sentences) in enumerate(zip(rows, split, strict=True)):
            self.fill(row, made[n], made[at : at + len(sentences)], sentences)
            at += len(sentences)

    def embed_passages(self, rows: list[int], encoder: Encoder) -> None:
        """Embed these passages only (the dense path needs no more)."""
        for row, vector in zip(rows, encoder.encode([self.texts[i] for i in rows]), strict=True):
            self.fill_passage(row, vector)

    def embed_sentences(self, rows: list[int], encoder: Encoder) -> None:
        """Embed these passages' sentences."""
        split = [sentence_texts(self.bodies[i]) for i in rows]
        made = encoder.encode([s for sentences in split for s in sentences])
        at = 0
        for row, sentences in zip(rows, split, strict=True):
            self.fill_sentences(row, made[at : at + len(sentences)], sentences)
            at += len(sentences)

    @property
    def unsplit(self) -> list[int]:
        """Rows with a passage vector whose sentences are still to embed, in passage order."""
        return [i for i, s in enumerate(self.sentences) if s is None and self.embedded[i]]

    def sentence_vectors(self) -> SentenceVectors:
        """Every filled passage's sentences, looked up by text."""
        parts = [s for s in self.sentences if s is not None]
        if not parts:
            return SentenceVectors.of(_NO_KEYS, np.zeros((0, self.vectors.shape[1]), np.float16))
        return SentenceVectors.of(
            np.concatenate([k for k, _ in parts]), np.concatenate([v for _, v in parts])
        )


def plan_vectors(kb: KnowledgeBase, dimension: int, path: Path | None) -> VectorPlan:
    """Read what the cache already holds for `kb`'s passages (content keys, not positions)."""
    titles = {a.id: a.title for a in kb.articles}
    bodies = [p.text for p in kb.passages]
    texts = [passage_text(titles[p.article_id], p.text) for p in kb.passages]
    keys = [_key(t) for t in texts]
    known = _read(path, dimension) if path is not None else _Cached()
    out = np.zeros((len(texts), dimension), dtype=np.float16)
    embedded = np.zeros(len(texts), dtype=bool)
    sentences: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(texts)
    missing = []
    for i, key in enumerate(keys):
        row = known.rows.get(key)
        if row is None:
            missing.append(i)
            continue
        assert known.vectors is not None and known.offsets is not None
        assert known.sentence_vectors is not None and known.split is not None
        out[i] = known.vectors[row]
        embedded[i] = True
        if not known.split[row]:
            continue  # the passage's sentences are still to embed
        a, b = known.offsets[row], known.offsets[row + 1]
        sentences[i] = (known.sentence_keys[a:b], known.sentence_vectors[a:b])
    stale = set(known.rows) != set(keys)
    return VectorPlan(texts, bodies, keys, out, sentences, missing, path, stale, embedded)


def save_vectors(plan: VectorPlan) -> None:
    """Persist every passage vector the plan has, with its sentences' where embedded (a
    count of −1 where not yet); errors are logged.

    A cancelled job saves its partial work: the next build embeds only what is left.
    """
    if plan.path is None:
        return
    rows = plan.embedded
    kept = [plan.sentences[i] for i in np.flatnonzero(rows)]
    parts = [s for s in kept if s is not None]
    dimension = plan.vectors.shape[1]
    try:
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(plan.keys), dtype="S16") if plan.keys else np.zeros(0, "S16")
        arrays = {
            "keys": keys[rows],
            "vectors": plan.vectors[rows],
            "sentence_counts": np.array(
                [-1 if s is None else len(s[0]) for s in kept], dtype=np.int32
            ),
            "sentence_keys": np.concatenate([k for k, _ in parts]) if parts else _NO_KEYS,
            "sentence_vectors": (
                np.concatenate([v for _, v in parts])
                if parts
                else np.zeros((0, dimension), np.float16)
            ),
        }
        write_atomically(plan.path, lambda f: write_npz(f, arrays))
    except OSError as exc:
        log.warning("could not save vectors to %s: %s", plan.path, exc.strerror or exc)


@dataclass(frozen=True, slots=True)
class StoredVectors:
    """A knowledge base's passage vectors (its order) and its sentences' vectors."""

    passages: np.ndarray
    sentences: SentenceVectors


def stored_vectors(kb: KnowledgeBase, encoder: Encoder, path: Path | None) -> StoredVectors:
    """Every passage's and sentence's vector, reusing cached ones; computed now."""
    plan = plan_vectors(kb, encoder.dimension, path)
    started = time.perf_counter()
    for n in range(0, len(plan.missing), CHUNK):
        plan.embed(plan.missing[n : n + CHUNK], encoder)
        log.info(
            "embedded %d of %d new passages and their sentences (%.0f s)",
            min(n + CHUNK, len(plan.missing)),
            len(plan.missing),
            time.perf_counter() - started,
        )
    unsplit = plan.unsplit
    if unsplit:
        plan.embed_sentences(unsplit, encoder)
    if plan.missing or unsplit or plan.stale:
        save_vectors(plan)
    return StoredVectors(plan.vectors, plan.sentence_vectors())


def passage_vectors(kb: KnowledgeBase, encoder: Encoder, path: Path | None) -> np.ndarray:
    """One float16 unit vector per passage of `kb` (its order); see `stored_vectors`."""
    return stored_vectors(kb, encoder, path).passages
