"""What changed between two versions of a knowledge base (for reload reports)."""

from __future__ import annotations

from pydantic import BaseModel

from bot.core.articles.models import KnowledgeBase


class Snapshot(BaseModel):
    """The identity of a knowledge base's content: article hashes and passage ids."""

    articles: dict[str, str] = {}
    passages: dict[str, str] = {}  # passage id → article id

    @classmethod
    def of(cls, kb: KnowledgeBase, *, with_passages: bool = True) -> Snapshot:
        return cls(
            articles={a.id: a.content_hash for a in kb.articles},
            passages={p.id: p.article_id for p in kb.passages} if with_passages else {},
        )


class KnowledgeDiff(BaseModel):
    """Articles and passages added, changed or removed."""

    articles_added: list[str] = []
    articles_changed: list[str] = []
    articles_removed: list[str] = []
    passages_added: int = 0
    passages_removed: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.articles_added
            or self.articles_changed
            or self.articles_removed
            or self.passages_added
            or self.passages_removed
        )

    def summary(self) -> str:
        if self.is_empty:
            return "no changes"
        parts = [
            f"{len(self.articles_added)} article(s) added",
            f"{len(self.articles_changed)} changed",
            f"{len(self.articles_removed)} removed",
            f"passages +{self.passages_added} / -{self.passages_removed}",
        ]
        return ", ".join(parts)


def diff(old: Snapshot, new: Snapshot) -> KnowledgeDiff:
    """Compare two snapshots."""
    old_a, new_a = old.articles, new.articles
    return KnowledgeDiff(
        articles_added=sorted(new_a.keys() - old_a.keys()),
        articles_changed=sorted(k for k in new_a.keys() & old_a.keys() if new_a[k] != old_a[k]),
        articles_removed=sorted(old_a.keys() - new_a.keys()),
        passages_added=len(new.passages.keys() - old.passages.keys()),
        passages_removed=len(old.passages.keys() - new.passages.keys()),
    )


def diff_loaded(old: KnowledgeBase, new: KnowledgeBase) -> KnowledgeDiff:
    """Compare two knowledge bases loaded by the same code and settings (a reload).

    An article with the same content hash then has the same passages, so only the passages
    of added, changed and removed articles are compared: snapshots of every passage were
    O(passages) of work in single calls that held the GIL (~0.3 s at a million passages),
    stalling the event loop at the end of each reload.
    """
    old_a = {a.id: a for a in old.articles}
    new_a = {a.id: a for a in new.articles}
    added = sorted(new_a.keys() - old_a.keys())
    removed = sorted(old_a.keys() - new_a.keys())
    changed = sorted(
        k for k in new_a.keys() & old_a.keys() if new_a[k].content_hash != old_a[k].content_hash
    )
    # Passage ids include their article's id, so no other article can hold one of these.
    before = {p.id for k in (*changed, *removed) for p in old_a[k].passages}
    after = {p.id for k in (*changed, *added) for p in new_a[k].passages}
    return KnowledgeDiff(
        articles_added=added,
        articles_changed=changed,
        articles_removed=removed,
        passages_added=len(after - before),
        passages_removed=len(before - after),
    )
