"""Plain data of the core: articles, passages and load problems (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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
    passages: tuple[Passage, ...]
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
    passages: tuple[Passage, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passages", tuple(p for a in self.articles for p in a.passages))

    @property
    def is_empty(self) -> bool:
        return not self.passages
