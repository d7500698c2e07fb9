"""Plain data of the core: articles, passages and load problems (no behaviour, no I/O)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple, overload


class Passage(NamedTuple):
    """One paragraph (or a piece of a long one) with its place in the source file.

    Immutable like the dataclasses here, but a named tuple: start-up creates one per passage
    (a million at scale), and a tuple is built about three times faster than a frozen
    dataclass, which sets each field through object.__setattr__.
    """

    id: str
    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    text_hash: str


@dataclass(frozen=True, slots=True)
class Article:
    """One knowledge file: its metadata and its passages, in order."""

    id: str  # path relative to the knowledge folder, with forward slashes
    title: str
    url: str | None
    content_hash: str
    # A tuple, or a view that makes Passage objects on access (see bot/core/articles/columns.py):
    # either way an immutable sequence, equal to the tuple of the same passages.
    passages: Sequence[Passage]
    published: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A file that was refused, and why (safe to show to an admin)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything loaded from a knowledge folder: usable articles plus the refused files."""

    articles: tuple[Article, ...]
    problems: tuple[LoadProblem, ...] = ()
    # Every article's passages in order; equal articles mean equal passages (not compared).
    passages: Sequence[Passage] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passages", AllPassages(self.articles))

    @property
    def is_empty(self) -> bool:
        return not self.passages


class PassageView(Sequence[Passage]):
    """A read-only sequence of passages made on access; equal to the tuple of its items,
    as the tuple it stands for would be (and hashed like it)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, tuple | PassageView):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))


class AllPassages(PassageView):
    """The passages of many articles as one sequence, in order; a view, nothing is copied.

    A tuple of a million passages would make every article's lazy passages (columns.py)
    into objects at start-up, which is what those views avoid.
    """

    __slots__ = ("_articles", "_ends")

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = articles
        self._ends = list(accumulate(len(a.passages) for a in articles))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def article_range(self, at: int) -> range:
        """The positions of every passage of the article that passage `at` belongs to."""
        a = bisect_right(self._ends, at)
        return range(self._ends[a - 1] if a else 0, self._ends[a])

    @overload
    def __getitem__(self, i: int) -> Passage: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Passage, ...]: ...

    def __getitem__(self, i: int | slice) -> Passage | tuple[Passage, ...]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        n = len(self)
        at = i + n if i < 0 else i
        if not 0 <= at < n:
            raise IndexError("passage index out of range")
        a = bisect_right(self._ends, at)
        return self._articles[a].passages[at - (self._ends[a - 1] if a else 0)]

    def __iter__(self) -> Iterator[Passage]:
        for article in self._articles:
            yield from article.passages

    def __repr__(self) -> str:
        return f"AllPassages({len(self)} passages of {len(self._articles)} articles)"
