"""The question-answering engine: one immutable snapshot of a knowledge base and its index."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.core.analysis import analyze
from bot.core.answers import Answer, Turn
from bot.core.compose import Candidate, Composer, ComposerTuning, Draft
from bot.core.followup import context_terms, is_follow_up
from bot.core.index import BM25Index, IdfMode
from bot.core.models import Article, KnowledgeBase, Passage

ANALYZER_VERSION = "a1"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Retrieval and answering parameters (from Settings)."""

    k1: float = 1.5
    b: float = 0.75
    idf_mode: IdfMode = "lucene"
    candidates: int = 8
    context_weight: float = 0.5
    tuning: ComposerTuning = field(default_factory=ComposerTuning)


@dataclass(frozen=True, slots=True)
class SearchResult:
    passage: Passage
    article: Article
    score: float


def passage_terms(article: Article, passage: Passage) -> list[str]:
    """What the index sees of a passage: the article title counts as part of it."""
    return analyze(article.title) + analyze(passage.text)


def knowledge_version(kb: KnowledgeBase, config: EngineConfig) -> str:
    """A short content hash: same articles and parameters ⇒ same version."""
    h = hashlib.sha256(f"{ANALYZER_VERSION}|{config.k1}|{config.b}|{config.idf_mode}".encode())
    for article in sorted(kb.articles, key=lambda a: a.id):
        h.update(f"\n{article.id}\t{article.content_hash}".encode())
    return h.hexdigest()[:12]


class Engine:
    """Search and answer over one knowledge base; never mutated after construction."""

    def __init__(
        self,
        kb: KnowledgeBase,
        config: EngineConfig | None = None,
        index: BM25Index | None = None,
    ) -> None:
        self.kb = kb
        self.config = config or EngineConfig()
        self.version = knowledge_version(kb, self.config)
        self._articles = {a.id: a for a in kb.articles}
        self._passages = kb.passages
        self._by_id = {p.id: i for i, p in enumerate(self._passages)}
        self.index = index or BM25Index(
            [passage_terms(self._articles[p.article_id], p) for p in self._passages],
            k1=self.config.k1,
            b=self.config.b,
            idf_mode=self.config.idf_mode,
        )
        self.composer = Composer(self.weight, self.config.tuning)

    @property
    def passage_count(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: str) -> tuple[Passage, Article] | None:
        i = self._by_id.get(passage_id)
        if i is None:
            return None
        p = self._passages[i]
        return p, self._articles[p.article_id]

    def weight(self, term: str) -> float:
        """A term's importance for coverage: a smoothed idf, highest for unseen terms."""
        n = self.index.doc_freq(term)
        total = max(self.index.size, 1)
        return math.log(1.0 + (total - n + 0.5) / (n + 0.5))

    def _rank(self, terms: Sequence[str], extra: Sequence[str], k: int) -> list[SearchResult]:
        if not terms and not extra:
            return []
        scores = self.index.get_scores(list(terms))
        if extra:
            scores = scores + self.config.context_weight * self.index.get_scores(list(extra))
        nonzero = np.flatnonzero(scores > 0)
        if nonzero.size == 0:
            return []
        if nonzero.size > k:
            part = np.argpartition(-scores[nonzero], k - 1)[:k]
            nonzero = nonzero[part]
        order = sorted(nonzero.tolist(), key=lambda i: (-scores[i], i))
        return [
            SearchResult(
                self._passages[i], self._articles[self._passages[i].article_id], float(scores[i])
            )
            for i in order
        ]

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        """The best passages for a query, best first (BM25, title included)."""
        return self._rank(analyze(query), (), k)

    def answer(self, question: str, previous: Turn | None = None) -> Answer:
        """Answer a question from the knowledge base, in the context of a previous turn."""
        terms = analyze(question)
        borrowed: list[str] = []
        if previous is not None and (is_follow_up(question) or not terms):
            borrowed = [t for t in previous.context_terms if t not in terms]
        draft = self._compose(question, terms, borrowed)
        if draft.abstained and previous is not None and not borrowed and terms:
            # A question that fails alone may still make sense as a follow-up.
            retry_terms = [t for t in previous.context_terms if t not in terms]
            retry = self._compose(question, terms, retry_terms)
            if not retry.abstained:
                draft, borrowed = retry, retry_terms
        own_context = context_terms(question, draft.text if not draft.abstained else "")
        if borrowed:
            own_context = list(dict.fromkeys([*own_context, *borrowed]))
        return Answer(
            question=question,
            answer=draft.text,
            abstained=draft.abstained,
            reason=draft.reason,
            citations=draft.citations,
            evidence=draft.evidence,
            query_terms=list(dict.fromkeys(terms)),
            context_terms=own_context if not draft.abstained else list(borrowed),
            index_version=self.version,
        )

    def draft(self, question: str) -> Draft:
        """Compose a stand-alone question's draft, with its support figures (for evaluation)."""
        return self._compose(question, analyze(question), [])

    def _compose(self, question: str, terms: list[str], borrowed: list[str]) -> Draft:
        hits = self._rank(terms, borrowed, self.config.candidates)
        candidates = [Candidate(h.passage, h.article, h.score) for h in hits]
        return self.composer.compose(question, terms, candidates, borrowed)
