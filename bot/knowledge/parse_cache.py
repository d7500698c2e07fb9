"""The parse cache: what `parse_article` made of each file, so unchanged files are neither
parsed nor, when their stat data says so, even read at the next load."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import bot.core.articles.columns
import bot.core.articles.loader
import bot.core.articles.models
from bot.core.articles.columns import ID_DTYPE, TEXT_HASH_DTYPE, PassageColumns, StoredPassages
from bot.core.articles.loader import parse_article, stable_hash
from bot.core.articles.models import Article, KnowledgeBase, Passage
from bot.core.storage.atomic import write_atomically
from bot.core.storage.npz import map_npz_members, write_npz
from bot.core.storage.strings import pack_strings, unpack_strings

log = logging.getLogger(__name__)

PARSE_CACHE_NAME = "articles.parsed"  # not *.npz: those are indexes, pruned on persist
_PARSE_CACHE_FORMAT = 2  # 2: passage columns with their texts, and each file's stat data
# A file changed less than this before its stat was recorded may change again within the
# same timestamp tick (coarse clocks; FAT keeps 2 s), so its stat proves nothing: it is
# hashed again until it is older (git's racy-clean rule).
_RACY_NS = 2_000_000_000
_MAPPED = ("ids", "text_hashes", "starts", "ends", "text_ends", "texts")  # PassageColumns'
_StatRow = tuple[int, int, int, int, int]
_NO_STAT: _StatRow = (-1, -1, -1, -1, -1)  # never equal to a file's


def _now_ns() -> int:
    return time.time_ns()


def _stat_row(info: os.stat_result) -> _StatRow:
    """What says a file is unchanged: size, mtime and ctime (ns), inode and device."""
    mask = (1 << 63) - 1  # stored as int64: a wrapped inode number still identifies it
    return (
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
        info.st_ino & mask,
        info.st_dev & mask,
    )


def _parser_fingerprint() -> str:
    """Identify the parsing code and the stored layout: a change to the loader, the models
    or the columns module invalidates the cache."""
    h = hashlib.sha256(f"parse-cache {_PARSE_CACHE_FORMAT}".encode())
    for module in (bot.core.articles.loader, bot.core.articles.models, bot.core.articles.columns):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()[:16]


def _starts_of(first: np.ndarray, n: int) -> np.ndarray:
    """Mark the positions where an article's passages begin."""
    starts = np.zeros(n, dtype=np.bool_)
    starts[first[:-1]] = True
    return starts


def _valid_meta(row: object) -> bool:
    if not (isinstance(row, list) and len(row) == 5 and isinstance(row[0], str)):
        return False
    _, url, published, author, tags = row
    return (
        all(v is None or isinstance(v, str) for v in (url, published, author))
        and isinstance(tags, list)
        and all(isinstance(t, str) for t in tags)
    )


def _settled(stat: list[int], before_ns: int) -> _StatRow:
    """A recorded stat, or one no file has if its file was changed too near the recording."""
    size, mtime_ns, ctime_ns, inode, device = stat
    if max(mtime_ns, ctime_ns) >= before_ns:
        return _NO_STAT
    return (size, mtime_ns, ctime_ns, inode, device)


@dataclass(frozen=True, slots=True)
class _Known:
    """A cached article: its content hash, row and the stat data of its file when read."""

    content_hash: str
    row: int
    stat: _StatRow


@dataclass(frozen=True, slots=True)
class _Part:
    """One article's rows of the columns to write."""

    ids: np.ndarray
    text_hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    text_lengths: np.ndarray
    texts: bytes | memoryview


def _part_of(passages: Sequence[Passage]) -> _Part:
    """The columns of passages held as tuples (ValueError if they do not fit the columns)."""
    ids = [p.id for p in passages]
    hashes = [p.text_hash for p in passages]
    if any(len(i) != ID_DTYPE.itemsize for i in ids) or any(
        len(h) != TEXT_HASH_DTYPE.itemsize for h in hashes
    ):
        raise ValueError("passage ids or hashes of another width")
    texts = [p.text.encode("utf-8") for p in passages]
    n = len(passages)
    return _Part(
        np.array(ids, dtype=ID_DTYPE),
        np.array(hashes, dtype=TEXT_HASH_DTYPE),
        np.fromiter((p.start for p in passages), np.int64, n),
        np.fromiter((p.end for p in passages), np.int64, n),
        np.fromiter(map(len, texts), np.int64, n),
        b"".join(texts),
    )


def _stored_part(passages: StoredPassages) -> _Part:
    """An article's rows copied from the columns it was loaded from (nothing decoded)."""
    c, first, last = passages.columns, passages.first, passages.first + passages.size
    low = int(c.text_ends[first - 1]) if first else 0
    high = int(c.text_ends[last - 1])
    text_ends = c.text_ends[first:last]
    return _Part(
        c.ids[first:last],
        c.text_hashes[first:last],
        c.starts[first:last],
        c.ends[first:last],
        np.diff(text_ends, prepend=low),
        c.texts[low:high].data,
    )


class ParseCache:
    """What `parse_article` made of each file, keyed by article id and content hash, with the
    file's stat data when it was read.

    `parse_article` is a pure function of (article id, text), so a file with the same content
    hash (sha256 of its text) parses to the same article. A file whose stat data (size, mtime,
    ctime, inode, device) is as recorded is not even read — the way git trusts its index: only
    if the recorded times are safely older than when the stats were taken (`_RACY_NS`), else
    it is hashed. ctime cannot be set back (touch, utime), so an edit that keeps the size and
    mtime is still seen. Passages come back as views on the cache's memory-mapped columns
    (as with the index: the cache is only ever replaced, never written in place; a file
    truncated in place by someone else while mapped would crash the process, SIGBUS).
    Tied to the parsing code's fingerprint; a damaged or foreign cache is ignored.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fingerprint = _parser_fingerprint()
        self._started_ns = _now_ns()  # before any file of this load is looked at
        self._known: dict[str, _Known] = {}
        self._seen: dict[str, _StatRow] = {}  # stat data of this load, by article id
        self._used = 0
        self._read_any = False
        if path is not None and path.is_file():
            try:
                self._read(path)
            except Exception:  # any damage means: read and parse everything again
                log.warning("parse cache %s is unreadable; parsing every file", path, exc_info=True)
                self._known = {}

    def _read(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != self._fingerprint:
                return
            ids = unpack_strings(stored["article_ids"], stored["article_id_ends"])
            hashes = unpack_strings(stored["hashes"], stored["hash_ends"])
            meta = json.loads(str(stored["meta"]))
            first = stored["first_passage"].astype(np.int64)
            stats = stored["stats"]
            stats_ns = int(stored["stats_ns"])
        # Mapped, not read: ~0.6 GB at a million passages, mostly texts few questions touch.
        columns = PassageColumns(**map_npz_members(path, _MAPPED))
        columns.check()
        n_articles, n_passages = len(ids), len(columns.ids)
        if not (
            len(hashes) == len(meta) == n_articles
            and all(map(_valid_meta, meta))
            and first.shape == (n_articles + 1,)
            and stats.shape == (n_articles, 5)
            and stats.dtype == np.int64
            and first[0] == 0
            and first[-1] == n_passages
            and np.all(np.diff(first) > 0)
            and np.all(
                (columns.starts[1:] >= columns.ends[:-1]) | _starts_of(first, n_passages)[1:]
            )
        ):
            raise ValueError("parse cache arrays disagree")
        self._columns, self._meta, self._first = columns, meta, first.tolist()
        settled_before = stats_ns - _RACY_NS
        self._known = {
            aid: _Known(h, row, _settled(stat, settled_before))
            for row, (aid, h, stat) in enumerate(zip(ids, hashes, stats.tolist(), strict=True))
        }

    def reuse(self, article_id: str, info: os.stat_result) -> Article | None:
        """The cached article of a file whose stat data is as recorded (and was settled)."""
        stat = self._seen[article_id] = _stat_row(info)
        known = self._known.get(article_id)
        # Character offsets past the file's size in bytes: a foreign or damaged cache.
        if known is None or known.stat != stat or self._last_end(known) > info.st_size:
            return None
        self._used += 1
        return self._article(article_id, known)

    def _last_end(self, known: _Known) -> int:
        return int(self._columns.ends[self._first[known.row + 1] - 1])

    def parse(self, article_id: str, text: str) -> Article:
        """Return the article of a file read: from the cache when its content is unchanged."""
        self._read_any = True  # its stat data changed (or was racy): record the new one
        known = self._known.get(article_id)
        if known is not None:
            try:
                content_hash = stable_hash(text, 32)
            except UnicodeEncodeError:  # parse_article refuses such text with the reason
                content_hash = None
            # Spans outside the file: a foreign cache.
            if content_hash == known.content_hash and self._last_end(known) <= len(text):
                self._used += 1
                return self._article(article_id, known)
        return parse_article(article_id, text)

    def _article(self, article_id: str, known: _Known) -> Article:
        title, url, published, author, tags = self._meta[known.row]
        first, last = self._first[known.row], self._first[known.row + 1]
        return Article(
            id=article_id,
            title=title,
            url=url,
            content_hash=known.content_hash,
            passages=StoredPassages(self._columns, first, last - first, article_id),
            published=published,
            author=author,
            tags=tuple(tags),
        )

    def save(self, kb: KnowledgeBase) -> bool:
        """Write the cache for `kb` if any file was read or dropped since it was written;
        say whether it was written."""
        if self.path is None or (not self._read_any and self._used == len(self._known)):
            return False
        try:
            parts = [
                _stored_part(a.passages)
                if isinstance(a.passages, StoredPassages)
                else _part_of(a.passages)
                for a in kb.articles
            ]
        except (ValueError, UnicodeError) as exc:
            log.warning("not writing the parse cache: %s", exc)
            return False
        articles = kb.articles
        first = np.zeros(len(articles) + 1, dtype=np.int64)
        np.cumsum([len(a.passages) for a in articles], out=first[1:])
        ids, id_ends = pack_strings([a.id for a in articles])
        hashes, hash_ends = pack_strings([a.content_hash for a in articles])
        meta = json.dumps([[a.title, a.url, a.published, a.author, list(a.tags)] for a in articles])
        stats = np.array([self._seen.get(a.id, _NO_STAT) for a in articles], dtype=np.int64)
        arrays = {
            "fingerprint": np.array(self._fingerprint),
            "stats_ns": np.array(self._started_ns, dtype=np.int64),
            "article_ids": ids,
            "article_id_ends": id_ends,
            "hashes": hashes,
            "hash_ends": hash_ends,
            "meta": np.array(meta),
            "first_passage": first,
            "stats": stats.reshape(len(articles), 5),
            **_concatenated(parts),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = {"texts": [p.texts for p in parts]}  # streamed, never joined in memory
            write_atomically(self.path, lambda file: write_npz(file, arrays, texts))
        except OSError as exc:  # loading works without the cache; the next start parses again
            log.warning("could not write the parse cache %s: %s", self.path, exc.strerror or exc)
            return False
        return True

    def mapped(self, kb: KnowledgeBase) -> KnowledgeBase:
        """`kb` with its passages as views on the cache just written, as the next start
        would load it: the parsed passages (~0.7 GiB at a million) are freed before the
        index is built. `kb` itself if the cache does not read back as the same articles."""
        if self.path is None:
            return kb
        written = ParseCache(self.path)
        articles = []
        for article in kb.articles:
            known = written._known.get(article.id)
            if known is None or known.content_hash != article.content_hash:
                return kb
            articles.append(written._article(article.id, known))
        if len(articles) != len(written._known):
            return kb
        return KnowledgeBase(tuple(articles), kb.problems)


def _concatenated(parts: list[_Part]) -> dict[str, np.ndarray]:
    """The columns of all parts, texts aside (streamed); text ends made cumulative."""

    def joined(name: str, dtype: np.dtype) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)

    return {
        "ids": joined("ids", ID_DTYPE),
        "text_hashes": joined("text_hashes", TEXT_HASH_DTYPE),
        "starts": joined("starts", np.dtype(np.int64)),
        "ends": joined("ends", np.dtype(np.int64)),
        "text_ends": np.cumsum(joined("text_lengths", np.dtype(np.int64))),
    }
