"""Build a ready-to-serve engine from a knowledge folder, reusing a persisted index if fresh."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig, knowledge_version
from bot.core.retrieval.dense import Semantics
from bot.core.retrieval.index import BM25Index
from bot.core.storage.atomic import prune_stale_partials
from bot.embedding import shared_encoder
from bot.errors import KnowledgeError
from bot.knowledge.parse_cache import PARSE_CACHE_NAME, ParseCache
from bot.knowledge.vectors import cache_file, passage_vectors
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


def build_engine(kb: KnowledgeBase, settings: Settings, *, use_cache: bool = True) -> Engine:
    """Index `kb` (or load its persisted index, keyed by content hash) into an Engine."""
    with _collector_paused():
        return _build_engine(kb, settings, use_cache=use_cache)


def embedding_notice(settings: Settings) -> str:
    """What the embedding model is doing, in one line (for `index`, `/kb` and the log)."""
    return shared_encoder(
        settings.embedding_model, settings.models_dir, settings.embedding_precision == "int8"
    ).notice


def build_semantics(
    kb: KnowledgeBase, settings: Settings, *, use_cache: bool = True
) -> Semantics | None:
    """The embedding model and the passage vectors (None: lexical only, said once in the log).

    Past `dense_max_passages` no passage is embedded (minutes per 10k passages on 2 cores):
    the model still re-ranks each question's candidates and informs abstention.
    """
    state = shared_encoder(
        settings.embedding_model, settings.models_dir, settings.embedding_precision == "int8"
    )
    if state.encoder is None:
        return None
    if len(kb.passages) > settings.dense_max_passages:
        return Semantics(state.encoder)
    path = cache_file(settings.cache_dir, state.encoder) if use_cache else None
    return Semantics(state.encoder, passage_vectors(kb, state.encoder, path))


def dense_notice(engine: Engine, settings: Settings) -> str:
    semantics = engine.semantics
    if semantics is None:
        return embedding_notice(settings)
    if semantics.passage_vectors is None:
        return (
            f"{embedding_notice(settings)}; dense retrieval off: {engine.passage_count:,} "
            f"passages > BOT_DENSE_MAX_PASSAGES={settings.dense_max_passages:,}"
        )
    return f"{embedding_notice(settings)}; {len(semantics.passage_vectors):,} passage vectors"


def _build_engine(kb: KnowledgeBase, settings: Settings, *, use_cache: bool) -> Engine:
    config = engine_config(settings)
    version = knowledge_version(kb, config)
    cache = settings.cache_dir / f"{version}.npz"
    semantics = build_semantics(kb, settings, use_cache=use_cache)
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
