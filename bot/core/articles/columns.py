"""Passages kept as columns (ids, spans, one UTF-8 blob of texts), made into `Passage`
objects only when asked for.

At a million passages, creating every `Passage` and slicing its text took ~1.5 s of each
start-up and most of its memory, while a question reads a few dozen passages. The columns
are usually memory-mapped from the parse cache (bot/knowledge/parse_cache.py), so their pages are
shared with the page cache rather than private to the process.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import overload

import numpy as np
import numpy.typing as npt

from bot.core.articles.models import Article, Passage, PassageView

ID_DTYPE = np.dtype("S12")  # stable_hash(…, 12): 12 hex digits
TEXT_HASH_DTYPE = np.dtype("S16")


@dataclass(frozen=True, slots=True, eq=False)
class PassageColumns:
    """The passages of many articles, row by row (an article's passages are adjacent rows)."""

    ids: npt.NDArray[np.bytes_]
    text_hashes: npt.NDArray[np.bytes_]
    starts: npt.NDArray[np.int64]  # character offsets in the source file
    ends: npt.NDArray[np.int64]
    text_ends: npt.NDArray[np.int64]  # where each passage's UTF-8 text ends in `texts`
    texts: npt.NDArray[np.uint8]
    # The same memory as flat buffers: indexing one gives a Python int or bytes directly,
    # ~3x faster than numpy's scalar indexing (a search reads ~20 passages one by one).
    _flat: tuple[memoryview, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        flat = tuple(
            np.ascontiguousarray(a).data.cast("B") for a in (self.ids, self.text_hashes, self.texts)
        )
        ints = tuple(
            np.ascontiguousarray(a, dtype=np.int64).data.cast("B").cast("q")
            for a in (self.starts, self.ends, self.text_ends)
        )
        object.__setattr__(self, "_flat", flat + ints)

    def check(self) -> None:
        """Refuse columns that cannot be read back as passages (ValueError)."""
        n = len(self.ids)
        if self.ids.dtype != ID_DTYPE or self.text_hashes.dtype != TEXT_HASH_DTYPE:
            raise ValueError("passage columns have other id widths")
        if self.texts.dtype != np.uint8 or any(
            a.dtype != np.int64 for a in (self.starts, self.ends, self.text_ends)
        ):
            raise ValueError("passage columns of another type")
        if not (len(self.text_hashes) == len(self.starts) == len(self.ends) == n):
            raise ValueError("passage columns differ in length")
        if len(self.text_ends) != n or (n and self.text_ends[-1] != len(self.texts)):
            raise ValueError("passage texts disagree with their offsets")
        if n and not (
            self.text_ends[0] > 0
            and np.all(np.diff(self.text_ends) > 0)
            and np.all(self.starts >= 0)
            and np.all(self.starts < self.ends)
            and _lengths_agree(self.ends - self.starts, np.diff(self.text_ends, prepend=0))
        ):
            raise ValueError("passage offsets are not increasing")

    def passage(self, row: int, article_id: str, ordinal: int) -> Passage:
        ids, hashes, texts, starts, ends, text_ends = self._flat
        at, hash_at = row * ID_DTYPE.itemsize, row * TEXT_HASH_DTYPE.itemsize
        return Passage(
            str(ids[at : at + ID_DTYPE.itemsize], "ascii", "replace"),
            article_id,
            ordinal,
            # Never raises: a cache damaged inside a text shows U+FFFD rather than failing a
            # question (its structure, not every byte, is checked when it is opened).
            str(texts[text_ends[row - 1] if row else 0 : text_ends[row]], "utf-8", "replace"),
            starts[row],
            ends[row],
            str(hashes[hash_at : hash_at + TEXT_HASH_DTYPE.itemsize], "ascii", "replace"),
        )

    def passages(self, first: int, count: int, article_id: str) -> list[Passage]:
        """Rows first…first+count-1 as passages, decoded in one go (faster than one by one)."""
        rows = slice(first, first + count)
        low = int(self.text_ends[first - 1]) if first else 0
        blob = self.texts[low : self.text_ends[first + count - 1]].tobytes()
        bounds = [0, *(self.text_ends[rows] - low).tolist()]
        return list(
            map(
                Passage._make,
                zip(
                    [i.decode("ascii", "replace") for i in self.ids[rows].tolist()],
                    [article_id] * count,
                    range(count),
                    [blob[a:b].decode("utf-8", "replace") for a, b in pairwise(bounds)],
                    self.starts[rows].tolist(),
                    self.ends[rows].tolist(),
                    [h.decode("ascii", "replace") for h in self.text_hashes[rows].tolist()],
                    strict=True,
                ),
            )
        )

    def rows_with_id(self, passage_id: str) -> list[int]:
        try:
            key = passage_id.encode("ascii")
        except UnicodeEncodeError:
            return []
        if len(key) != ID_DTYPE.itemsize:
            return []
        return np.flatnonzero(self.ids == key).tolist()


def _lengths_agree(chars: npt.NDArray[np.int64], utf8: npt.NDArray[np.int64]) -> bool:
    """A text of n characters takes n to 4n bytes in UTF-8."""
    return bool(np.all(chars <= utf8) and np.all(utf8 <= 4 * chars))


class StoredPassages(PassageView):
    """One article's passages: rows `first`… of a `PassageColumns`."""

    __slots__ = ("article_id", "columns", "first", "size")

    def __init__(self, columns: PassageColumns, first: int, size: int, article_id: str) -> None:
        self.columns = columns
        self.first = first
        self.size = size  # not `count`: Sequence.count(value) is a method
        self.article_id = article_id

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, i: int) -> Passage: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Passage, ...]: ...

    def __getitem__(self, i: int | slice) -> Passage | tuple[Passage, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        at = i + self.size if i < 0 else i
        if not 0 <= at < self.size:
            raise IndexError("passage index out of range")
        return self.columns.passage(self.first + at, self.article_id, at)

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.columns.passages(self.first, self.size, self.article_id))

    def __repr__(self) -> str:
        return f"StoredPassages({self.article_id!r}, {self.size} passages)"


class PassageFinder:
    """Find a passage by id without a dict of every id (a million entries: ~0.5 s to build).

    Stored passages are found by one vectorised comparison over their columns; passages
    held as tuples (parsed this time) go into a dict. Like a dict built over the passages in
    order, the last one wins if two ever share an id.
    """

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = articles
        self._loose: dict[str, tuple[int, int]] = {}  # id -> (article index, ordinal)
        # per columns: its rows' owners, as sorted first rows and article indexes
        self._stored: dict[int, tuple[PassageColumns, list[int], list[int]]] = {}
        for a, article in enumerate(articles):
            passages = article.passages
            if isinstance(passages, StoredPassages):
                _, firsts, owners = self._stored.setdefault(
                    id(passages.columns), (passages.columns, [], [])
                )
                firsts.append(passages.first)
                owners.append(a)
            else:
                for ordinal, p in enumerate(passages):
                    self._loose[p.id] = (a, ordinal)
        for _, firsts, owners in self._stored.values():
            order = sorted(range(len(firsts)), key=firsts.__getitem__)
            firsts[:] = [firsts[k] for k in order]
            owners[:] = [owners[k] for k in order]

    def find(self, passage_id: str) -> tuple[Passage, Article] | None:
        found = [self._loose[passage_id]] if passage_id in self._loose else []
        for columns, firsts, owners in self._stored.values():
            for row in columns.rows_with_id(passage_id):
                k = bisect_right(firsts, row) - 1
                if k < 0:
                    continue
                passages = self._articles[owners[k]].passages
                if row - firsts[k] < len(passages):
                    found.append((owners[k], row - firsts[k]))
        if not found:
            return None
        a, ordinal = max(found)
        article = self._articles[a]
        return article.passages[ordinal], article
