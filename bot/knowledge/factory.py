"""Build a ready-to-serve engine from a knowledge folder, reusing a persisted index if fresh."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig, knowledge_version
from bot.core.retrieval.dense import Encoder, Semantics
from bot.core.retrieval.index import BM25Index
from bot.core.storage.atomic import prune_stale_partials
from bot.embedding import model_dir, shared_encoder
from bot.errors import KnowledgeError
from bot.knowledge.background import VectorJob
from bot.knowledge.parse_cache import PARSE_CACHE_NAME, ParseCache
from bot.knowledge.vectors import cache_file, plan_vectors, save_vectors, stored_vectors
from bot.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of objects are created, then
    freeze the survivors out of its view.

    A full collection traverses every live object while holding the GIL: during a 100k
    reload it stalled the event loop (in another thread) for 440-700 ms. Loading and
    indexing create no reference cycles worth collecting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # the knowledge base and index live long: keep them out of collections
        if was_enabled:
            gc.enable()


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(k1=settings.k1, b=settings.b, idf_mode=settings.idf)


def load_knowledge_base(settings: Settings, *, use_cache: bool = True) -> KnowledgeBase:
    """Load and validate the knowledge folder; KnowledgeError if nothing usable is there.

    Files unchanged since the last load are not parsed again, and those whose stat data
    says so (see ParseCache) not even read: their articles come from the parse cache beside
    the index, their passages made on access from its memory-mapped columns.
    """
    root = settings.knowledge_dir
    cache = ParseCache(settings.cache_dir / PARSE_CACHE_NAME if use_cache else None)
    try:
        with _collector_paused():
            kb = load_knowledge(root, settings.max_file_bytes, cache.parse, cache.reuse)
            if cache.save(kb):
                kb = cache.mapped(kb)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise KnowledgeError(str(exc)) from None
    except OSError as exc:
        raise KnowledgeError(
            f"cannot read knowledge folder {root}: {exc.strerror or exc}"
        ) from None
    if kb.is_empty:
        detail = f" ({len(kb.problems)} file(s) refused: {kb.problems[0]})" if kb.problems else ""
        raise KnowledgeError(f"knowledge base {root} has no usable articles{detail}")
    return kb


def build_engine(
    kb: KnowledgeBase, settings: Settings, *, use_cache: bool = True, background: bool = False
) -> Engine:
    """Index `kb` (or load its persisted index, keyed by content hash) into an Engine.

    `background`: passage vectors the cache lacks are left to `start_vectors` (the engine
    answers without the dense path until they are published); else computed now.
    """
    with _collector_paused():
        return _build_engine(kb, settings, use_cache=use_cache, background=background)


def embedding_notice(settings: Settings) -> str:
    """What the embedding model is doing, in one line (for `index`, `/kb` and the log)."""
    return shared_encoder(
        settings.embedding_model, settings.models_dir, settings.embedding_precision == "int8"
    ).status


def wait_for_model(settings: Settings, timeout: float | None = None) -> bool:
    """Until the embedding model (loading in the background) is ready; whether it is usable
    (blocking: call off the event loop)."""
    return shared_encoder(
        settings.embedding_model, settings.models_dir, settings.embedding_precision == "int8"
    ).wait(timeout)


def build_semantics(
    kb: KnowledgeBase, settings: Settings, *, use_cache: bool = True, background: bool = False
) -> Semantics | None:
    """The embedding model and the passage vectors (None: lexical only, said once in the log).

    Past `dense_max_passages` no passage is embedded (minutes per 10k passages on 2 cores):
    the model still re-ranks each question's candidates and informs abstention.
    `background`: vectors are taken from the cache only if it has every passage; otherwise
    the Semantics is `pending` until a `VectorJob` publishes them.
    """
    state = shared_encoder(
        settings.embedding_model, settings.models_dir, settings.embedding_precision == "int8"
    )
    if state.encoder is None:
        return None
    if len(kb.passages) > settings.dense_max_passages:
        return Semantics(state.encoder)
    path = cache_file(settings.cache_dir, state.encoder) if use_cache else None
    if not background:  # computed now (tests, evaluation): with the model, loaded
        state.wait()
        stored = stored_vectors(kb, state.encoder, path)
        return Semantics(state.encoder, stored.passages, sentences=stored.sentences)
    plan = plan_vectors(kb, state.encoder.dimension, path)
    if plan.missing or plan.unsplit:  # the job publishes the cached passages at once
        return Semantics(state.encoder, pending=True)
    if plan.stale:
        save_vectors(plan)  # drop the vectors of passages gone since
    return Semantics(state.encoder, plan.vectors, sentences=plan.sentence_vectors())


@functools.lru_cache(maxsize=2)
def _background_encoder(folder: Path, quantized: bool, threads: int) -> Encoder:
    """A session of its own for background embedding, made on the job's niced thread (its
    pool threads inherit the lower priority, so questions come first); idle threads sleep."""
    from bot.embedding.encoder import OnnxEncoder

    return OnnxEncoder(folder, quantized=quantized, threads=threads, spinning=False)


def start_vectors(
    engine: Engine, settings: Settings, *, use_cache: bool = True, after: VectorJob | None = None
) -> VectorJob | None:
    """Start computing `engine`'s pending passage vectors in the background (None: nothing
    to compute). `after`: a superseded job to wait for (cancel it first)."""
    semantics = engine.semantics
    folder = model_dir(settings.embedding_model, settings.models_dir)
    if semantics is None or not semantics.pending or folder is None:
        return None
    quantized = settings.embedding_precision == "int8"
    path = cache_file(settings.cache_dir, semantics.encoder) if use_cache else None
    return VectorJob(
        engine.kb,
        semantics,
        lambda: _background_encoder(folder, quantized, settings.embedding_threads),
        path,
        after=after,
    ).start()


def dense_notice(engine: Engine, settings: Settings, job: VectorJob | None = None) -> str:
    """The model's state and the passage vectors' progress (`job`: the one computing them)."""
    semantics = engine.semantics
    if semantics is None:
        return embedding_notice(settings)
    vectors = semantics.passage_vectors
    progress = job.progress if job is not None and job.semantics is semantics else None
    if vectors is not None:
        n = len(vectors)
        if progress is not None and progress.state == "embedding":
            return (
                f"{embedding_notice(settings)}; {progress.line()}, dense retrieval on "
                "(candidate sentences embedded per question until then)"
            )
        return f"{embedding_notice(settings)}; vectors: {n:,} / {n:,} passages (100 %)"
    if not semantics.pending:
        return (
            f"{embedding_notice(settings)}; dense retrieval off: {engine.passage_count:,} "
            f"passages > BOT_DENSE_MAX_PASSAGES={settings.dense_max_passages:,}"
        )
    if progress is None or progress.state in {"cancelled", "failed"}:
        why = "failed (see the log)" if progress is not None else "not being computed"
        return f"{embedding_notice(settings)}; passage vectors {why}: dense retrieval off"
    return (
        f"{embedding_notice(settings)}; {progress.line()}, dense retrieval on when complete "
        "(lexical until then)"
    )


def _build_engine(
    kb: KnowledgeBase, settings: Settings, *, use_cache: bool, background: bool
) -> Engine:
    config = engine_config(settings)
    version = knowledge_version(kb, config)
    cache = settings.cache_dir / f"{version}.npz"
    semantics = build_semantics(kb, settings, use_cache=use_cache, background=background)
    if use_cache and cache.is_file():
        try:
            index = BM25Index.load(cache)
            if index.size == len(kb.passages):
                return Engine(kb, config, index, semantics)
        except Exception:  # a damaged cache is rebuilt, never trusted
            log.warning("index cache %s is unreadable; rebuilding", cache, exc_info=True)
    engine = Engine(kb, config, semantics=semantics)
    if use_cache:
        _persist(engine, cache)
    return engine


def _persist(engine: Engine, cache: Path) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        engine.index.save(cache)  # atomic: a killed build never leaves a half-written index
        for old in cache.parent.glob("*.npz"):
            if old != cache:
                old.unlink(missing_ok=True)
        prune_stale_partials(cache.parent)
    except OSError as exc:
        # Serving works without the cache; the next start just indexes again.
        log.warning("could not persist the index to %s: %s", cache, exc.strerror or exc)
