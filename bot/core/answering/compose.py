"""Compose an extractive answer from retrieved passages, or abstain and say why."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

from bot.core.answering.answers import Citation, Evidence
from bot.core.answering.antecedents import antecedent, opens_with_pronoun
from bot.core.answering.cues import (
    asks_who,
    expected_kind,
    focus_terms,
    named_and_asked,
    names_another,
    qualified_heads,
    satisfies,
)
from bot.core.answering.quotes import narrowed, shown_quote, snippet
from bot.core.answering.support import SUPPORT_FEATURES, Support, answers, ordered_weights
from bot.core.answering.tuning import SemanticTuning, Tuning
from bot.core.articles.models import Article, Passage
from bot.core.text.analysis import analyze, term_words
from bot.core.text.sentences import one_line, sentence_spans


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved passage with its BM25 score (and its position in the index, if known)."""

    passage: Passage
    article: Article
    score: float
    doc: int | None = None


# What a sentence is scored on, in the order sentence_features computes them; the weights
# are tuning.json's `sentence_weights` (a test keeps the two names lists equal).
SENTENCE_FEATURES = (
    "coverage",  # share of the question's weight in the sentence
    "title_credit",  # question weight found only in the article title
    "context_coverage",  # follow-up context terms in the sentence
    "proximity",  # coverage × how tightly the matched terms sit together
    "passage_score",  # the passage's BM25 score relative to the best passage
    "answer_type",  # the sentence has what the question asks for (a year, a number, a name)
    "focus",  # share of the words after "what/which" found in the sentence
    "restates",  # no word beyond the question's: adds nothing
    "passage_rank",  # 1 / rank of the passage
    "neighbour_credit",  # question weight found only in the adjacent sentences
    "lead",  # first sentence of its passage
    "length",  # characters / 100
    "term_share",  # unweighted share of question terms in the sentence
    "pronoun_opening",  # starts with he/it/they/this…
    "phrases",  # share of the question's adjacent term pairs found adjacent here
)


@dataclass(frozen=True, slots=True)
class Draft:
    """The composer's result before it becomes a stored Answer."""

    text: str
    abstained: bool
    reason: str | None
    citations: list[Citation]
    evidence: list[Evidence]
    support: Support | None = None


def _proximity(sequence: Sequence[str], terms: set[str]) -> float:
    """How tightly the matched terms sit together: 1.0 when adjacent, toward 0 when spread."""
    wanted = terms & set(sequence)
    if len(wanted) < 2:
        return 0.0
    best = len(sequence)
    last: dict[str, int] = {}
    for i, t in enumerate(sequence):
        if t in wanted:
            last[t] = i
            if len(last) == len(wanted):
                best = min(best, i - min(last.values()) + 1)
    return (len(wanted) - 1) / max(best - 1, 1)


@lru_cache(maxsize=20_000)
def _passage_terms(title: str, text: str) -> frozenset[str]:
    """A passage's terms with its article's title, as the index sees it (cached: the same
    passages come back for question after question, and several steps need them)."""
    return frozenset(analyze(title)) | frozenset(analyze(text))


@lru_cache(maxsize=50_000)
def _sentence_terms(sentence: str) -> tuple[str, ...]:
    """A sentence's (or title's) terms in order; popular passages come back question after
    question, and analysing their sentences is most of an answer's work."""
    return tuple(analyze(sentence))


def _aliased(sequence: Sequence[str], aliases: dict[str, str] | None) -> Sequence[str]:
    """Read related terms as the question terms they stand for."""
    return [aliases.get(t, t) for t in sequence] if aliases else sequence


def _pairs(sequence: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent term pairs, in either order ("president of Turkey" ~ "Turkey's president")."""
    return {tuple(sorted(pair)) for pair in pairwise(sequence)}  # type: ignore[misc]


@dataclass(slots=True)
class _Scored:
    candidate: Candidate
    start: int
    end: int
    terms: set[str]
    score: float


def _overlap(a: _Scored, b: _Scored) -> bool:
    return a.candidate is b.candidate and a.start < b.end and b.start < a.end


class Composer:
    """Pick the sentences that answer a question; abstain when the evidence is too weak."""

    def __init__(
        self,
        idf: Callable[[str], float],
        tuning: Tuning,
        related: Callable[[str], Iterable[str]] | None = None,
        contained: Callable[[Sequence[int], Collection[str]], list[set[str]]] | None = None,
        article_terms: Callable[[int, Collection[str]], set[str]] | None = None,
        semantic: SemanticTuning | None = None,
    ) -> None:
        # Coverage asks for the same few terms' weights hundreds of times per answer.
        self._idf = lru_cache(maxsize=8192)(idf)
        self.tuning = tuning
        self._sentence_weights = ordered_weights(tuning.sentence_weights, SENTENCE_FEATURES)
        ordered_weights(tuning.support_weights, (*SUPPORT_FEATURES, "bias"))  # checked now
        self._related = related
        self._contained = contained
        self._article_terms = article_terms
        self.semantic = semantic

    def _present(self, candidates: Sequence[Candidate], terms: Collection[str]) -> list[set[str]]:
        """Which of `terms` each passage (title included) contains."""
        docs = [c.doc for c in candidates]
        if self._contained is not None and all(d is not None for d in docs):
            # Looked up in the index's postings: analysing ten whole passages per question
            # was a third of a cold answer.
            return self._contained(docs, terms)  # type: ignore[arg-type]
        wanted = set(terms)
        return [wanted & _passage_terms(c.article.title, c.passage.text) for c in candidates]

    def aliases(self, terms: Iterable[str]) -> dict[str, str]:
        """Related vocabulary term → the question term it stands for (`azeri` → `azerbaijan`)."""
        if self._related is None:
            return {}
        wanted = set(terms)
        return {r: t for t in sorted(wanted) for r in self._related(t) if r not in wanted}

    def evidence(
        self, candidates: Sequence[Candidate], query_terms: Sequence[str]
    ) -> list[Evidence]:
        wanted = set(query_terms)
        out = []
        for c, present in zip(candidates, self._present(candidates, wanted), strict=True):
            out.append(
                Evidence(
                    passage_id=c.passage.id,
                    article_id=c.article.id,
                    title=c.article.title,
                    url=c.article.url,
                    score=c.score,
                    matched_terms=sorted(wanted & present),
                    snippet=snippet(c.passage.text),
                )
            )
        return out

    def coverage(self, terms: set[str], present: set[str]) -> float:
        """Share of the question's weight (idf) found in `present`."""
        # fsum: exact whatever the order, and a set's order changes with each process's
        # string hashing, so a plain sum could rank two passages differently per process.
        total = math.fsum(self._idf(t) for t in terms)
        return math.fsum(self._idf(t) for t in terms & present) / total if total else 0.0

    def compose(
        self,
        question: str,
        query_terms: Sequence[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str] = (),
        similarity: Callable[[Sequence[str]], Sequence[float]] | None = None,
    ) -> Draft:
        """`similarity`: the question's cosine with each given text (None: lexical only)."""
        tuning = self.tuning
        terms = set(query_terms)
        evidence = self.evidence(candidates, query_terms)
        if not terms:
            return self._abstain(
                "the question has no searchable words (only stopwords or punctuation)", evidence
            )
        if not candidates:
            shown = term_words(question)
            missing = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(terms)[:6])
            return self._abstain(f"no passage contains the key terms {missing}", evidence)

        aliases = self.aliases(terms)
        scored = self._score_sentences(question, terms, candidates, context_terms, aliases)
        if not scored:
            return self._abstain("the matching passages have no complete sentences", evidence)
        max_cosine = None
        if similarity is not None and self.semantic is not None:
            scored, max_cosine = self._rerank(scored, similarity, self.semantic)
        best = scored[0]
        support, missing_terms = self._support(
            terms | set(context_terms), terms, candidates, best, aliases, max_cosine
        )
        own_words = bool(self._present([best.candidate], terms | set(context_terms))[0])
        support = replace(support, own_words=own_words)
        # A passage only the dense path found (no BM25 score) falls to the missing-terms reason.
        if not own_words and best.candidate.score > 0 and not self.strong_enough(support):
            # Only look-alike words matched ("passwd" ~ "passed"): nothing the user typed.
            return self._abstain(
                "no passage contains any of the question's own words", evidence, support
            )
        if not self.strong_enough(support):
            shown = term_words(question)
            missing = ", ".join(f"“{shown.get(t, t)}”" for t in missing_terms)
            reason = f"the key terms {missing} appear in no passage that matches the rest"
            if self.strong_enough(replace(support, max_cosine=None)):
                reason = (
                    f"no passage is close in meaning to the question "
                    f"(best similarity {support.max_cosine:.2f})"
                )
            return self._abstain(reason, evidence, support)

        best = self._with_antecedent(best)
        if asks_who(question):
            heads, modifiers = qualified_heads(question)
            if (
                heads
                and modifiers
                and not modifiers & best.terms
                and names_another(self._sentence(best), heads, modifiers, aliases)
            ):
                # "Who is the prime minister of Turkey?" answered with Armenia's: the sentence
                # names someone, but not of what the question asks about.
                shown = term_words(question)
                named = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(modifiers))
                reason = f"the passages name one, but not of {named}"
                return self._abstain(reason, evidence, support)
        passing = self._only_in_passing(question, terms, best, aliases)
        if passing:
            return self._abstain(passing, evidence, support)
        chosen = [best]
        covered_terms = set(best.terms)
        length = len(one_line(self._sentence(best)))
        for extra in scored[1:]:
            if len(chosen) >= tuning.max_sentences:
                break
            if any(_overlap(extra, c) for c in chosen):
                continue  # e.g. the antecedent already quoted with the best sentence
            gain = self.coverage(terms, extra.terms - covered_terms)
            extra_len = len(one_line(self._sentence(extra))) + 5
            if (
                gain >= tuning.second_sentence_min_gain
                and length + extra_len <= tuning.max_answer_chars
            ):
                chosen.append(extra)
                covered_terms |= extra.terms
                length += extra_len
        if not tuning.best_first:
            # Keep reading order when sentences come from the same passage.
            chosen.sort(key=lambda s: (candidates.index(s.candidate), s.start))
        citations: list[Citation] = []
        parts: list[str] = []
        for n, s in enumerate(chosen, start=1):
            p = s.candidate.passage
            quote = self._sentence(s)
            citations.append(
                Citation(
                    n=n,
                    title=s.candidate.article.title,
                    url=s.candidate.article.url,
                    article_id=s.candidate.article.id,
                    passage_id=p.id,
                    quote=quote,
                    start=p.start + s.start,
                    end=p.start + s.end,
                    score=s.candidate.score,
                    passage_hash=p.text_hash,
                )
            )
            parts.append(f"{shown_quote(p.text, s.start, s.end)} [{n}]")
        return Draft(" ".join(parts), False, None, citations, evidence, support)

    @staticmethod
    def _rerank(
        scored: list[_Scored],
        similarity: Callable[[Sequence[str]], Sequence[float]],
        semantic: SemanticTuning,
    ) -> tuple[list[_Scored], float | None]:
        """Add weight × cosine to the best lexical sentences' scores; the best cosine."""
        head = scored[: semantic.rerank_sentences]
        if not head:
            return scored, None
        cosines = similarity([Composer._sentence(s) for s in head])
        mixed = [
            _Scored(s.candidate, s.start, s.end, s.terms, s.score + semantic.cosine_weight * c)
            for s, c in zip(head, cosines, strict=True)
        ]
        mixed.sort(key=lambda s: -s.score)  # stable: equal scores keep the lexical order
        return mixed + scored[len(head) :], float(max(cosines))

    def _score_sentences(
        self,
        question: str,
        terms: set[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str],
        aliases: dict[str, str],
    ) -> list[_Scored]:
        weights = self._sentence_weights
        scored = [
            _Scored(cand, a, b, s_terms, sum(w * f for w, f in zip(weights, feats, strict=True)))
            for cand, a, b, s_terms, feats in self.sentence_features(
                question, terms, candidates, context_terms, aliases
            )
        ]
        scored.sort(key=lambda s: -s.score)
        return scored

    def sentence_features(
        self,
        question: str,
        terms: set[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str] = (),
        aliases: dict[str, str] | None = None,
    ) -> list[tuple[Candidate, int, int, set[str], tuple[float, ...]]]:
        """Every sentence of the top passages with its features (see SENTENCE_FEATURES)."""
        tuning = self.tuning
        kind = expected_kind(question)
        focus = focus_terms(question) & terms
        context = set(context_terms) - terms
        # The best BM25 score, not the first candidate's: dense fusion may put another first.
        top_score = max(c.score for c in candidates) or 1.0
        pairs = _pairs(analyze(question, names=False))
        out: list[tuple[Candidate, int, int, set[str], tuple[float, ...]]] = []
        for rank, cand in enumerate(candidates[: tuning.passages_considered]):
            text = cand.passage.text
            title_terms = set(_aliased(_sentence_terms(cand.article.title), aliases))
            spans = [
                narrowed(text, span.start, span.end, terms, tuning.max_quote_chars)
                for span in sentence_spans(text)
            ]
            sequences = [_aliased(_sentence_terms(text[a:b]), aliases) for a, b in spans]
            term_sets = [set(seq) for seq in sequences]
            for i, (start, end) in enumerate(spans):
                sentence = text[start:end]
                sequence, s_terms = sequences[i], term_sets[i]
                matched = self.coverage(terms, s_terms)
                neighbours = (term_sets[i - 1] if i else set()) | (
                    term_sets[i + 1] if i + 1 < len(term_sets) else set()
                )
                feats = (
                    matched,
                    self.coverage(terms, title_terms - s_terms),
                    self.coverage(context, s_terms) if context else 0.0,
                    matched * _proximity(sequence, terms),
                    cand.score / top_score,
                    1.0 if satisfies(kind, sentence, terms) else 0.0,
                    len(focus & s_terms) / len(focus) if focus else 0.0,
                    0.0 if s_terms - terms else 1.0,  # restates the question, adds nothing
                    1.0 / (rank + 1),
                    self.coverage(terms, neighbours - s_terms),
                    1.0 if i == 0 else 0.0,
                    len(sentence) / 100,
                    len(terms & s_terms) / len(terms),
                    1.0 if opens_with_pronoun(sentence) else 0.0,
                    len(pairs & _pairs(sequence)) / len(pairs) if pairs else 0.0,
                )
                out.append((cand, start, end, s_terms, feats))
        return out

    def _support(
        self,
        with_context: set[str],
        terms: set[str],
        candidates: Sequence[Candidate],
        best: _Scored,
        aliases: dict[str, str],
        max_cosine: float | None = None,
    ) -> tuple[Support, list[str]]:
        """The evidence's strength, and the heaviest question terms the best passage lacks."""
        # Only the question's terms (and the related words standing for them) matter here.
        asked = terms | {r for r, t in aliases.items() if t in terms}
        considered = candidates[: self.tuning.passages_considered]
        present = [{aliases.get(t, t) for t in p} for p in self._present(considered, asked)]
        coverages = [self.coverage(terms, p) for p in present]
        top = max(range(len(coverages)), key=coverages.__getitem__)
        missing = sorted(terms - present[top], key=lambda t: (-self._idf(t), t))[:4]
        mass = sum(c.score for c in candidates) or 1.0
        top_article = candidates[0].article.id
        support = Support(
            coverage=coverages[top],
            together=len(with_context & best.terms),
            sentence_coverage=self.coverage(terms, best.terms),
            article_share=sum(c.score for c in candidates if c.article.id == top_article) / mass,
            title_match=1.0 if terms & set(_sentence_terms(candidates[0].article.title)) else 0.0,
            max_cosine=max_cosine,
        )
        return support, missing

    def _only_in_passing(
        self, question: str, terms: set[str], best: _Scored, aliases: dict[str, str]
    ) -> str | None:
        """Why to abstain when the question's names are all the article has of it ("Who is
        the lead singer of Coldplay?" against a Super Bowl article naming Coldplay once)."""
        doc = best.candidate.doc
        if not self.tuning.passing_mention_guard or self._article_terms is None or doc is None:
            return None
        named, asked = named_and_asked(question, terms)
        if not named or not asked or named & set(analyze(best.candidate.article.title)):
            return None  # nothing named, nothing else asked, or the article is about it
        # Their related forms count too ("founded" ~ "founder"): the dearer mistake is to
        # refuse a question the article does answer.
        related = {r: t for r, t in aliases.items() if t in asked}
        if self._article_terms(doc, asked | set(related)):
            return None
        shown = term_words(question)
        names = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(named))
        missing = ", ".join(f"“{shown.get(t, t)}”" for t in sorted(asked))
        return f"the articles mention {names} only in passing, with nothing on {missing}"

    def strong_enough(self, support: Support) -> bool:
        """The calibrated rule: the support score reaches the operating point."""
        return answers(support, self.tuning, self.semantic)

    def _with_antecedent(self, best: _Scored) -> _Scored:
        """Quote the sentence before too when the best one points back at it ("He …")."""
        text = best.candidate.passage.text
        before = antecedent(
            text,
            best.start,
            best.end,
            self.tuning.antecedent_mode,
            self.tuning.antecedent_max_chars,
        )
        if before is None:
            return best
        terms = best.terms | set(analyze(text[before.start : before.end]))
        return _Scored(best.candidate, before.start, best.end, terms, best.score)

    @staticmethod
    def _sentence(s: _Scored) -> str:
        return s.candidate.passage.text[s.start : s.end]

    @staticmethod
    def _abstain(reason: str, evidence: list[Evidence], support: Support | None = None) -> Draft:
        text = f"I couldn't find this in the knowledge base: {reason}."
        if evidence:
            text += " The closest passages are listed below."
        return Draft(text, True, reason, [], evidence, support)
