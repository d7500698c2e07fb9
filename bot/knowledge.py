"""Build a ready-to-serve engine from a knowledge folder, reusing a persisted index if fresh."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise, repeat
from pathlib import Path

import numpy as np

import bot.core.loader
import bot.core.models
from bot.core.engine import Engine, EngineConfig, knowledge_version
from bot.core.index import BM25Index
from bot.core.loader import load_knowledge, parse_article, stable_hash
from bot.core.models import Article, KnowledgeBase, Passage
from bot.errors import KnowledgeError
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

    Files whose content is unchanged since the last load are not parsed again: their
    articles are rebuilt from the parse cache beside the index (passage texts are slices of
    the file just read), which is several times faster than parsing.
    """
    root = settings.knowledge_dir
    cache = ParseCache(settings.cache_dir / _PARSE_CACHE if use_cache else None)
    try:
        with _collector_paused():
            kb = load_knowledge(root, settings.max_file_bytes, cache.parse)
            cache.save(kb)
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


def _build_engine(kb: KnowledgeBase, settings: Settings, *, use_cache: bool) -> Engine:
    config = engine_config(settings)
    version = knowledge_version(kb, config)
    cache = settings.cache_dir / f"{version}.npz"
    if use_cache and cache.is_file():
        try:
            index = BM25Index.load(cache)
            if index.size == len(kb.passages):
                return Engine(kb, config, index)
        except Exception:  # a damaged cache is rebuilt, never trusted
            log.warning("index cache %s is unreadable; rebuilding", cache, exc_info=True)
    engine = Engine(kb, config)
    if use_cache:
        _persist(engine, cache)
    return engine


def _persist(engine: Engine, cache: Path) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        engine.index.save(tmp)
        tmp.replace(cache)  # atomic: a killed build never leaves a half-written index
        for old in cache.parent.glob("*.npz"):
            if old != cache:
                old.unlink(missing_ok=True)
    except OSError as exc:
        # Serving works without the cache; the next start just indexes again.
        log.warning("could not persist the index to %s: %s", cache, exc.strerror or exc)


_PARSE_CACHE = "articles.parsed"  # not *.npz: those are indexes, pruned on persist
_PARSE_CACHE_FORMAT = 1


def _parser_fingerprint() -> str:
    """Identify the parsing code: a changed loader or models module invalidates the cache."""
    h = hashlib.sha256(f"parse-cache {_PARSE_CACHE_FORMAT}".encode())
    for module in (bot.core.loader, bot.core.models):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()[:16]


def _strings(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pack strings into one UTF-8 blob and their end offsets (in characters)."""
    ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
    return np.frombuffer("".join(values).encode("utf-8"), dtype=np.uint8), ends


def _starts_of(first: np.ndarray, n: int) -> np.ndarray:
    """Mark the positions where an article's passages begin."""
    starts = np.zeros(n, dtype=np.bool_)
    starts[first[:-1]] = True
    return starts


def _unpack(blob: np.ndarray, ends: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    if len(ends) and ends[-1] != len(text):
        raise ValueError("string offsets disagree with the text")
    return [text[a:b] for a, b in pairwise([0, *ends.tolist()])]


class ParseCache:
    """What `parse_article` made of each file, keyed by article id and content hash.

    `parse_article` is a pure function of (article id, text), so a file with the same
    content hash (sha256 of its bytes) parses to the same article; the cache is tied to the
    parsing code's fingerprint. A damaged or foreign cache is ignored (everything is parsed).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fingerprint = _parser_fingerprint()
        self._known: dict[str, tuple[str, int]] = {}  # article id -> (content hash, row)
        self._hits = 0
        self._misses = 0
        if path is not None and path.is_file():
            try:
                self._read(path)
            except Exception:  # any damage means: parse everything again
                log.warning("parse cache %s is unreadable; parsing every file", path)
                self._known = {}

    def _read(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != self._fingerprint:
                return
            ids = _unpack(stored["ids"], stored["id_ends"])
            hashes = _unpack(stored["hashes"], stored["hash_ends"])
            meta = json.loads(str(stored["meta"]))
            first = stored["first_passage"].astype(np.int64)
            spans = stored["spans"].astype(np.int64)
            pids = _unpack(stored["pids"], stored["pid_ends"])
            text_hashes = _unpack(stored["text_hashes"], stored["text_hash_ends"])
        n_articles, n_passages = len(ids), len(pids)
        if not (
            len(hashes) == len(meta) == n_articles
            and first.shape == (n_articles + 1,)
            and spans.shape == (n_passages, 2)
            and len(text_hashes) == n_passages
            and first[0] == 0
            and first[-1] == n_passages
            and np.all(np.diff(first) > 0)
            and np.all(spans[:, 0] >= 0)
            and np.all(spans[:, 0] < spans[:, 1])
            and np.all((spans[1:, 0] >= spans[:-1, 1]) | _starts_of(first, n_passages)[1:])
        ):
            raise ValueError("parse cache arrays disagree")
        self._ids, self._meta, self._first = ids, meta, first.tolist()
        # Flat lists: a list per passage (spans.tolist()) costs ~1 µs more each.
        self._starts, self._ends = spans[:, 0].tolist(), spans[:, 1].tolist()
        self._pids, self._text_hashes = pids, text_hashes
        self._known = {aid: (h, row) for row, (aid, h) in enumerate(zip(ids, hashes, strict=True))}

    def parse(self, article_id: str, text: str) -> Article:
        """Return the article of a file: from the cache when its content is unchanged."""
        known = self._known.get(article_id)
        if known is not None:
            try:
                content_hash = stable_hash(text, 32)
            except UnicodeEncodeError:  # parse_article refuses such text with the reason
                content_hash = None
            if content_hash == known[0]:
                article = self._article(article_id, text, content_hash, known[1])
                if article is not None:
                    self._hits += 1
                    return article
        self._misses += 1
        return parse_article(article_id, text)

    def _article(self, article_id: str, text: str, content_hash: str, row: int) -> Article | None:
        title, url, published, author, tags = self._meta[row]
        first, last = self._first[row], self._first[row + 1]
        if self._ends[last - 1] > len(text):
            return None  # spans outside the file: a foreign cache
        starts, ends = self._starts[first:last], self._ends[first:last]
        passages = tuple(
            map(
                Passage._make,  # tuple.__new__ straight from the fields: the fastest way
                zip(
                    self._pids[first:last],
                    repeat(article_id, last - first),
                    range(last - first),
                    [text[a:b] for a, b in zip(starts, ends, strict=True)],
                    starts,
                    ends,
                    self._text_hashes[first:last],
                    strict=True,
                ),
            )
        )
        return Article(
            id=article_id,
            title=title,
            url=url,
            content_hash=content_hash,
            passages=passages,
            published=published,
            author=author,
            tags=tuple(tags),
        )

    def save(self, kb: KnowledgeBase) -> None:
        """Write the cache for `kb` if anything was parsed or dropped since it was read."""
        if self.path is None or (self._misses == 0 and self._hits == len(self._known)):
            return
        articles = kb.articles
        passages = kb.passages
        first = np.zeros(len(articles) + 1, dtype=np.int64)
        np.cumsum([len(a.passages) for a in articles], out=first[1:])
        spans = np.empty((len(passages), 2), dtype=np.int64)
        spans[:, 0] = np.fromiter((p.start for p in passages), np.int64, len(passages))
        spans[:, 1] = np.fromiter((p.end for p in passages), np.int64, len(passages))
        ids, id_ends = _strings([a.id for a in articles])
        hashes, hash_ends = _strings([a.content_hash for a in articles])
        pids, pid_ends = _strings([p.id for p in passages])
        text_hashes, text_hash_ends = _strings([p.text_hash for p in passages])
        meta = json.dumps([[a.title, a.url, a.published, a.author, list(a.tags)] for a in articles])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            with partial.open("wb") as file:
                np.savez(
                    file,
                    fingerprint=np.array(self._fingerprint),
                    ids=ids,
                    id_ends=id_ends,
                    hashes=hashes,
                    hash_ends=hash_ends,
                    meta=np.array(meta),
                    first_passage=first,
                    spans=spans,
                    pids=pids,
                    pid_ends=pid_ends,
                    text_hashes=text_hashes,
                    text_hash_ends=text_hash_ends,
                )
            os.replace(partial, self.path)
        except OSError as exc:  # loading works without the cache; the next start parses again
            log.warning("could not write the parse cache %s: %s", self.path, exc.strerror or exc)
