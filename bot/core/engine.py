"""The question-answering engine: one immutable snapshot of a knowledge base and its index."""

from __future__ import annotations

import hashlib
import math
import re
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import ParamSpec, TypeVar, overload

import numpy as np

from bot.core.answering.answers import Answer, Correction, Turn
from bot.core.answering.compose import Candidate, Composer, Draft
from bot.core.answering.followup import (
    REFERRING_WORDS,
    context_terms,
    in_context,
    leans_on_context,
    resolve,
    wants_something_new,
)
from bot.core.answering.tuning import Tuning, default_tuning
from bot.core.articles.columns import PassageFinder
from bot.core.articles.models import AllPassages, Article, KnowledgeBase, Passage
from bot.core.retrieval.dense import (
    Semantics,
    reciprocal_rank_fusion,
    top_by_cosine,
)
from bot.core.retrieval.encode import encode_passages
from bot.core.retrieval.fusion import convex_fusion, cosines
from bot.core.retrieval.index import BM25Index, IdfMode
from bot.core.retrieval.spelling import QuerySpelling, spellings
from bot.core.text.analysis import analyze
from bot.core.text.chat import model_question, plain_question, truecased
from bot.core.text.demonyms import demonym_links

_T = TypeVar("_T")
# Longer articles are not scanned for the in-passing guard (a lookup per passage).
_ARTICLE_SCAN_LIMIT = 2_000
_REFERRING_TERMS = frozenset(analyze(" ".join(REFERRING_WORDS), names=False))
_P = ParamSpec("_P")

ANALYZER_VERSION = "a6"  # a6: "whose" is a stopword (a5: "won" and "may" are terms)


class _Texts(Sequence[str]):
    """The passages' texts, made as they are read: the index's analysis takes them a task at
    a time, and passages made on access (columns.py) need not all exist at once."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self._passages = passages

    def __len__(self) -> int:
        return len(self._passages)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [p.text for p in self._passages[i]]
        return self._passages[i].text

    def __iter__(self) -> Iterator[str]:
        return (p.text for p in self._passages)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Retrieval parameters (from Settings) and the answer calibration (tuning.json)."""

    k1: float = 1.5
    b: float = 0.75
    idf_mode: IdfMode = "lucene"
    spelling: bool = True  # query terms the index lacks matched to its nearest terms
    tuning: Tuning = field(default_factory=default_tuning)


@dataclass(frozen=True, slots=True)
class SearchResult:
    passage: Passage
    article: Article
    score: float


def passage_terms(article: Article, passage: Passage) -> list[str]:
    """What the index sees of a passage: the article title counts as part of it."""
    return analyze(article.title) + analyze(passage.text)


def _weakly(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Call a bound method without keeping its object alive."""
    # The function and a weak reference, not weakref.WeakMethod: that one builds a bound
    # method per call, ~10 % of a warm answer (weight() is called hundreds of times).
    function = method.__func__  # type: ignore[attr-defined]
    owner = weakref.ref(method.__self__)  # type: ignore[attr-defined]

    def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return function(owner(), *args, **kwargs)

    return call


def passage_head_lengths(kb: KnowledgeBase) -> list[int]:
    """How many leading terms of each passage's `passage_terms` are its article's title."""
    lengths = {a.id: len(analyze(a.title)) for a in kb.articles}
    return [lengths[p.article_id] for p in kb.passages]


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
        semantics: Semantics | None = None,
    ) -> None:
        """`semantics`: the embedding model and passage vectors (None: lexical only)."""
        self.kb = kb
        self.semantics = semantics
        self.config = config or EngineConfig()
        self.version = knowledge_version(kb, self.config)
        self._articles = {a.id: a for a in kb.articles}
        self._passages = kb.passages
        # Built on the first lookup by id (/source), not at start-up: a dict of every id
        # took ~0.5 s at a million passages.
        self._finder: PassageFinder | None = None
        # The terms of passage_terms(article, passage), as ids, analysed on every CPU.
        self.index = index or BM25Index(
            encode_passages(
                [a.title for a in kb.articles for _ in range(len(a.passages))],
                _Texts(self._passages),
            ),
            k1=self.config.k1,
            b=self.config.b,
            idf_mode=self.config.idf_mode,
            head_lengths=passage_head_lengths(kb),
        )
        # Which articles carry a term in their title: the title counts in each of their
        # passages, so a term's passage frequency overstates how often bodies mention it.
        self._title_terms = {a.id: frozenset(analyze(a.title)) for a in kb.articles}
        self._titled: dict[str, list[Article]] = {}
        for article in kb.articles:
            for term in self._title_terms[article.id]:
                self._titled.setdefault(term, []).append(article)
        self._body_df: dict[str, int] = {}
        self._by_prefix: dict[str, list[str]] | None = None
        # Callbacks through weak references: bound methods would make an engine ↔ composer
        # cycle, and the factory's gc.freeze() keeps frozen cycles forever (every engine
        # replaced by a reload leaked, with its knowledge base).
        self._weights: dict[str, float] = {}  # memos: a few terms, asked again and again
        self._related: dict[str, tuple[str, ...]] = {}
        self.spelling = QuerySpelling(self.index, self.config.spelling)
        self.composer = Composer(
            _weakly(self.weight),
            self.config.tuning,
            _weakly(self.related_terms),
            _weakly(self.contained),
            _weakly(self.article_terms),
            semantic=self.config.tuning.semantic if semantics is not None else None,
            article_counts=_weakly(self.article_counts),
        )

    @property
    def passage_count(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: str) -> tuple[Passage, Article] | None:
        if self._finder is None:
            self._finder = PassageFinder(self.kb.articles)
        return self._finder.find(passage_id)

    def body_doc_freq(self, term: str) -> int:
        """How many passages mention a term in their own text (the title not counted)."""
        known = self._body_df.get(term)
        if known is not None:
            return known
        counted = self.index.body_doc_freq(term)  # counted at build: no passage re-analysed
        if counted is not None:
            return counted
        n = self.index.doc_freq(term)
        for article in self._titled.get(term, ()):
            # These passages all match through the title; keep those whose text has it too.
            n -= sum(1 for p in article.passages if term not in analyze(p.text))
        if len(self._body_df) < 100_000:
            self._body_df[term] = n
        return n

    def related_terms(self, term: str) -> tuple[str, ...]:
        """Indexed terms sharing most of a long prefix with `term` (Azerbaijan ~ Azeri).

        Catches demonyms and derived forms the stemmer leaves apart; callers down-weight them.
        """
        known = self._related.get(term)
        if known is not None:
            return known
        found = tuple(self._find_related(term))
        if len(self._related) < 100_000:
            self._related[term] = found
        return found

    def _find_related(self, term: str) -> list[str]:
        p = self.config.tuning.expansion_prefix
        if p <= 0:
            return []
        # A place and its people's adjective (Turkish ~ Turkey, French ~ France).
        places = [t for t in sorted(demonym_links().get(term, ())) if self.index.doc_freq(t)]
        if len(term) < p or not term.isalpha():
            return places
        if self._by_prefix is None:
            # The index keeps its vocabulary; reading it avoids re-analysing every passage.
            by_prefix: dict[str, list[str]] = {}
            for t in self.index.terms():
                if len(t) >= p and t.isalpha():
                    by_prefix.setdefault(t[:p], []).append(t)
            self._by_prefix = by_prefix
        out = []
        for other in self._by_prefix.get(term[:p], ()):
            if other == term:
                continue
            shared = next(
                (i for i, (a, b) in enumerate(zip(term, other, strict=False)) if a != b),
                min(len(term), len(other)),
            )
            shorter = min(len(term), len(other))
            # A short stem is a prefix of too many words (`pass` of `passwd`): 5 letters at least.
            if shared >= self.config.tuning.expansion_share * shorter:
                out.append(other)
        return out + [t for t in places if t not in out]

    def weight(self, term: str) -> float:
        """A term's importance for coverage: a smoothed idf over passage texts, title aside.

        In a one-article knowledge base the title's words are in every passage, so their
        index idf is about zero even in the sentences that do mention them.
        """
        known = self._weights.get(term)
        if known is not None:  # hundreds of calls per answer, on a few terms
            return known
        # A term no passage text has counts as if one had it: unseen words are as often typos,
        # paraphrases or the name of what is asked ("TV channel") as signs of a foreign topic.
        n = max(self.body_doc_freq(term), 1)
        total = max(self.index.size, 1)
        weight = math.log(1.0 + (total - n + 0.5) / (n + 0.5))
        if len(self._weights) < 100_000:
            self._weights[term] = weight
        return weight

    def contained(self, docs: Sequence[int], terms: Collection[str]) -> list[set[str]]:
        """Which of `terms` each passage (by index position) contains, title included."""
        return self.index.containing(terms, docs)

    def article_terms(self, doc: int, terms: Collection[str]) -> set[str]:
        """Which of `terms` any passage of the article of passage `doc` contains."""
        passages = self._passages
        if not isinstance(passages, AllPassages):
            return set(terms)  # unknown layout: claim all, so no guard fires
        span = passages.article_range(doc)
        if len(span) > _ARTICLE_SCAN_LIMIT:
            return set(terms)
        found: set[str] = set()
        for held in self.index.containing(terms, list(span)):
            found |= held
        return found

    def article_counts(self, doc: int, terms: Collection[str]) -> dict[str, int]:
        """How many passages of the article of passage `doc` contain each of `terms` (empty
        when the article is too long to scan)."""
        passages = self._passages
        if not isinstance(passages, AllPassages):
            return {}
        span = passages.article_range(doc)
        if len(span) > _ARTICLE_SCAN_LIMIT:
            return {}
        counts = dict.fromkeys(terms, 0)
        for held in self.index.containing(terms, list(span)):
            for t in held:
                counts[t] += 1
        return counts

    def _rank(
        self,
        terms: Sequence[str],
        extra: Sequence[str],
        k: int,
        question_vector: np.ndarray | None = None,
        passage_vectors: np.ndarray | None = None,
    ) -> list[SearchResult]:
        return [
            SearchResult(self._passages[i], self._articles[self._passages[i].article_id], score)
            for i, score in self._ranked(terms, extra, k, question_vector, passage_vectors)
        ]

    def _ranked(
        self,
        terms: Sequence[str],
        extra: Sequence[str],
        k: int,
        question_vector: np.ndarray | None = None,
        passage_vectors: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The best k (passage position, BM25 score) pairs, best first.

        With a question vector and passage vectors (the snapshot the question read), BM25's
        ranking is fused with the nearest passages by cosine (reciprocal-rank fusion), so a
        question sharing few words with its passage still finds it; the scores stay BM25's.
        """
        tuning = self.config.tuning.semantic
        if question_vector is None or passage_vectors is None or tuning.dense_weight <= 0:
            return self._bm25_ranked(terms, extra, k)
        if not terms and not extra:
            return []
        nearest = top_by_cosine(question_vector, passage_vectors, tuning.dense_candidates)
        scores = self._scores(terms, extra)
        lexical = [i for i, _ in self._best(terms, extra, scores, max(k, tuning.dense_candidates))]
        fused = reciprocal_rank_fusion(
            [lexical, [i for i, _ in nearest]], [1.0, tuning.dense_weight], tuning.rrf_k
        )
        return [(i, float(scores[i])) for i, _ in fused[:k]]

    def _bm25_ranked(
        self, terms: Sequence[str], extra: Sequence[str], k: int
    ) -> list[tuple[int, float]]:
        if not terms and not extra:
            return []
        return self._best(terms, extra, self._scores(terms, extra), k)

    def _scores(self, terms: Sequence[str], extra: Sequence[str]) -> np.ndarray:
        scores = self.index.get_scores(list(terms))
        related = list(self.composer.aliases(terms)) if self.config.tuning.expansion_weight else []
        if related:
            expansion = self.index.get_scores(related)
            expansion *= self.config.tuning.expansion_weight
            scores += expansion
        if extra:
            context = self.index.get_scores(list(extra))
            context *= self.config.tuning.context_weight
            scores += context
        return scores

    def _best(
        self, terms: Sequence[str], extra: Sequence[str], scores: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        # Lucene idf is positive, so a matching passage scores above zero; okapi idf can be
        # negative, so eligibility is holding a question or context term (not a related one).
        holding = None if self.index.idf_mode == "lucene" else [*terms, *extra]
        return list(self.index.best(scores, k, holding=holding))

    def search(self, query: str, k: int = 10) -> list[SearchResult]:
        """The best passages for a query, best first: BM25 (title included), fused with the
        passages nearest in meaning once the passage vectors are ready (lexical until then,
        and without the model). Each result's score is its BM25 score (0 for a passage found
        by meaning alone), as in `ask`'s evidence; the order is the fused one."""
        terms = analyze(query, names=False)
        fusion = self.config.tuning.semantic.search
        semantics = self.semantics
        # One snapshot per query: vectors published meanwhile serve the next one.
        dense = self._search_vectors()
        if semantics is None or dense is None or not terms:
            return self._rank(terms, (), k)
        vector = semantics.vectors([query])[0]
        scores = self._scores(terms, ())
        lexical = self._best(terms, (), scores, k)
        similar = cosines(dense, vector)
        fused = convex_fusion(scores, lexical, similar, fusion.cosine_share, fusion.nearest, k)
        return [
            SearchResult(self._passages[i], self._articles[self._passages[i].article_id], s)
            for i, s in ((i, float(scores[i])) for i, _ in fused)
        ]

    def search_by_meaning(self) -> int:
        """How many passages nearest in meaning a search adds to BM25's now (0: lexical)."""
        return (
            self.config.tuning.semantic.search.nearest if self._search_vectors() is not None else 0
        )

    def _search_vectors(self) -> np.ndarray | None:
        """The passage vectors search fuses with BM25 now (None: search is lexical — no
        model, the model still loading, vectors not ready, or fusion turned off)."""
        semantics = self.semantics
        if semantics is None or not semantics.ready:
            return None
        if self.config.tuning.semantic.search.cosine_share <= 0:
            return None
        return semantics.passage_vectors

    def answer(self, question: str, previous: Turn | None = None) -> Answer:
        """Answer a question from the knowledge base, in the context of a previous turn."""
        resolved = None
        text = plain_question(question) or question
        follow_up = False
        if previous is not None:
            resolved = resolve(text, previous.question, previous.answer)
            follow_up = resolved is not None or leans_on_context(text)
            text = resolved or text
        terms, fixes = self.spelling.understood(text)
        if follow_up:
            # "full name", "tell me more": words that point back are no key terms.
            own = [t for t in terms if t not in _REFERRING_TERMS]
            terms = own or terms
        borrowed: list[str] = []
        if previous is not None and (follow_up or not terms):
            borrowed = [t for t in previous.context_terms if t not in terms]
        if follow_up and not terms and borrowed:
            # "Tell me more" after "Why?" reads as "Why?", which has no words of its own:
            # the conversation's terms are then the question's.
            terms = borrowed
        # "Tell me more", "And the other one?": what the previous answer quoted is said.
        said = previous.answer if previous is not None and wants_something_new(question) else ""
        draft, corrections = self._compose(text, terms, borrowed, fixes, said=said)
        if said and draft.abstained:
            repeated, _ = self._compose(text, terms, borrowed, fixes)
            if not repeated.abstained:  # all there is was said: say so, not "not found"
                draft = self.composer.nothing_more(repeated)
        if draft.abstained and previous is not None and not borrowed and terms:
            # A question that fails alone may still make sense as a follow-up.
            retry_terms = [t for t in previous.context_terms if t not in terms]
            retry, retry_corrections = self._compose(text, terms, retry_terms, fixes)
            if not retry.abstained:
                draft, borrowed, corrections = retry, retry_terms, retry_corrections
        if resolved is None and borrowed and previous is not None:
            # Read in the previous turn's context without a rewrite ("What was the score?"):
            # the JSON's `resolved` still says what the turn was read as.
            resolved = in_context(text, previous.question)
        own_context = context_terms(text, draft.text if not draft.abstained else "")
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
            carried_terms=list(borrowed),
            corrections=corrections,
            resolved=resolved,
            index_version=self.version,
        )

    def draft(self, question: str) -> Draft:
        """Compose a stand-alone question's draft, with its support figures (for evaluation)."""
        text = plain_question(question) or question
        terms, fixes = self.spelling.understood(text)
        return self._compose(text, terms, [], fixes)[0]

    def _compose(
        self,
        question: str,
        terms: list[str],
        borrowed: list[str],
        fixes: dict[str, str],
        said: str = "",
    ) -> tuple[Draft, list[Correction]]:
        # A follow-up's words lean on the previous turn ("What exhibition did he attend?"):
        # the question alone is no fair measure of meaning, so it is answered lexically.
        semantics = self.semantics if not borrowed else None
        if semantics is not None and not semantics.ready:  # the model is still loading
            semantics = None
        vector = semantics.vectors([model_question(question)])[0] if semantics is not None else None
        # One snapshot per question: vectors published meanwhile serve the next question.
        dense = semantics.passage_vectors if semantics is not None else None
        ranked = self._ranked(terms, borrowed, self.config.tuning.candidates, vector, dense)
        candidates = [
            Candidate(self._passages[i], self._articles[self._passages[i].article_id], score, i)
            for i, score in ranked
        ]
        corrections = []
        if fixes:
            # The composer reads the question's wording too (what is asked, whose): it gets
            # the question as understood, each misspelt word as the passages spell it.
            spelled = spellings(set(fixes.values()), (c.passage.text for c in candidates))
            for typed, to in fixes.items():
                shown = spelled.get(to, to)
                corrections.append(Correction(typed=typed, searched=shown))
                question = re.sub(rf"(?i)(?<!\w){re.escape(typed)}(?!\w)", shown, question)
            if semantics is not None:  # meaning is read from the question as understood
                vector = semantics.vectors([model_question(question)])[0]
        # Which words are names (whose prime minister, what is only named in passing) is read
        # from capitals: a question typed in lower case gets them as its passages write them.
        question = truecased(
            question, (c.passage.text for c in candidates[: self.config.tuning.passages_considered])
        )
        similarity = None
        if semantics is not None and vector is not None:
            question_vector = vector

            def similarity(texts: Sequence[str]) -> Sequence[float]:
                return [float(x) for x in semantics.similarities(question_vector, texts)]

        # Each candidate passage's cosine, from the passage vectors once ready (embedding the
        # passages per question made questions 5× slower: docs/performance.md): the best one
        # is an abstention figure, and the evidence shows them in "Why this answer?".
        passage_cosines: dict[str, float] = {}
        if vector is not None and dense is not None:
            passage_cosines = {
                c.passage.id: float(dense[c.doc] @ vector) for c in candidates if c.doc is not None
            }
        draft = self.composer.compose(
            question,
            terms,
            candidates,
            borrowed,
            similarity,
            max(passage_cosines.values(), default=None),
            said=said,
        )
        return _with_similarities(draft, passage_cosines), corrections


def _with_similarities(draft: Draft, cosines: dict[str, float]) -> Draft:
    """The draft with each evidence passage's cosine with the question (passage id → cosine)."""
    if not cosines:
        return draft
    evidence = [
        e.model_copy(update={"similarity": round(cosines[e.passage_id], 3)})
        if e.passage_id in cosines
        else e
        for e in draft.evidence
    ]
    return replace(draft, evidence=evidence)
