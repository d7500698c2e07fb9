"""Compose an extractive answer from retrieved passages, or abstain and say why."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.analysis import analyze, term_words, words
from bot.core.answers import Citation, Evidence
from bot.core.models import Article, Passage
from bot.core.sentences import sentence_spans


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved passage with its BM25 score."""

    passage: Passage
    article: Article
    score: float


@dataclass(frozen=True, slots=True)
class ComposerTuning:
    """Weights of sentence choice and the abstention rule (measured in docs/evaluation.md)."""

    passages_considered: int = 5
    min_coverage: float = 0.5
    min_partial_coverage: float = 0.2
    min_terms_together: int = 2
    proximity_weight: float = 0.2
    max_quote_chars: int = 300
    passage_weight: float = 0.35
    cue_bonus: float = 0.15
    title_credit: float = 0.5
    max_sentences: int = 2
    max_answer_chars: int = 350
    second_sentence_min_gain: float = 0.2


@dataclass(frozen=True, slots=True)
class Support:
    """How strongly the retrieved passages support an answer (what abstention decides on)."""

    coverage: float  # share of the question's weight found in the best-covering passage
    together: int  # question (and context) terms inside the chosen sentence


@dataclass(frozen=True, slots=True)
class Draft:
    """The composer's result before it becomes a stored Answer."""

    text: str
    abstained: bool
    reason: str | None
    citations: list[Citation]
    evidence: list[Evidence]
    support: Support | None = None


_YEAR_OR_DATE = re.compile(
    r"\b(1\d{3}|20\d{2})s?\b|\b(january|february|march|april|may|june|july|august|september|"
    r"october|november|december|century|decade|today|yesterday|week|month|year)s?\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|several|many)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z’'\-]+")


def _expected_kind(question: str) -> str | None:
    """What sort of thing the question asks for, from its wording."""
    ws = words(question)
    joined = " ".join(ws)
    if re.search(
        r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|number)\b", joined
    ):
        return "number"
    if re.search(
        r"\bwhen\b|\bwhat (year|date|day|month|time|century|decade)\b|\bwhich year\b", joined
    ):
        return "time"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", joined):
        return "name"
    if re.search(r"\bwhere\b", joined):
        return "name"
    return None


def _satisfies(kind: str | None, sentence: str, question_terms: set[str]) -> bool:
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "time":
        return bool(_YEAR_OR_DATE.search(sentence))
    if kind == "name":
        return any(
            not set(analyze(m.group())) <= question_terms for m in _PROPER.finditer(sentence)
        )
    return False


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


_CLAUSE_END = re.compile(r"[,;:—–…]\s+|\s+[—–-]\s+")


def _focus(
    text: str, start: int, end: int, terms: set[str], tuning: ComposerTuning
) -> tuple[int, int]:
    """Narrow an over-long sentence to its clauses that carry the most question terms."""
    if end - start <= tuning.max_quote_chars:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_END.finditer(text, start, end)] + [end]
    best = (start, start + tuning.max_quote_chars)
    best_score = -1.0
    for i, a in enumerate(cuts[:-1]):
        for b in cuts[i + 1 :]:
            if b - a > tuning.max_quote_chars:
                break
            score = len(terms & set(analyze(text[a:b]))) + (b - a) / 10_000
            if score > best_score:
                best, best_score = (a, b), score
    a, b = best
    if best_score < 0:  # no clause boundary fits: cut at a word boundary
        space = text.rfind(" ", a, b)
        b = space if space > a else b
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:—–-"):
        b -= 1
    while a < b and text[a].isspace():
        a += 1
    return a, b


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def _quote_text(text: str) -> str:
    return " ".join(text.split())


@dataclass(slots=True)
class _Scored:
    candidate: Candidate
    start: int
    end: int
    terms: set[str]
    score: float


class Composer:
    """Pick the sentences that answer a question; abstain when the evidence is too weak."""

    def __init__(self, idf: Callable[[str], float], tuning: ComposerTuning | None = None) -> None:
        self._idf = idf
        self.tuning = tuning or ComposerTuning()

    def evidence(
        self, candidates: Sequence[Candidate], query_terms: Sequence[str]
    ) -> list[Evidence]:
        wanted = set(query_terms)
        out = []
        for c in candidates:
            present = set(analyze(c.article.title)) | set(analyze(c.passage.text))
            out.append(
                Evidence(
                    passage_id=c.passage.id,
                    article_id=c.article.id,
                    title=c.article.title,
                    url=c.article.url,
                    score=c.score,
                    matched_terms=sorted(wanted & present),
                    snippet=_snippet(c.passage.text),
                )
            )
        return out

    def coverage(self, terms: set[str], present: set[str]) -> float:
        """Share of the question's weight (idf) found in `present`."""
        total = sum(self._idf(t) for t in terms)
        return sum(self._idf(t) for t in terms & present) / total if total else 0.0

    def compose(
        self,
        question: str,
        query_terms: Sequence[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str] = (),
    ) -> Draft:
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

        scored = self._score_sentences(question, terms, candidates, context_terms)
        if not scored:
            return self._abstain("the matching passages have no complete sentences", evidence)
        best = scored[0]
        support, missing_terms = self._support(terms | set(context_terms), terms, candidates, best)
        if not self.strong_enough(support):
            shown = term_words(question)
            missing = ", ".join(f"“{shown.get(t, t)}”" for t in missing_terms)
            reason = f"the key terms {missing} appear in no passage that matches the rest"
            return self._abstain(reason, evidence, support)

        chosen = [best]
        covered_terms = set(best.terms)
        length = len(_quote_text(self._sentence(best)))
        for extra in scored[1:]:
            if len(chosen) >= tuning.max_sentences:
                break
            gain = self.coverage(terms, extra.terms - covered_terms)
            extra_len = len(_quote_text(self._sentence(extra))) + 5
            if (
                gain >= tuning.second_sentence_min_gain
                and length + extra_len <= tuning.max_answer_chars
            ):
                chosen.append(extra)
                covered_terms |= extra.terms
                length += extra_len
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
            parts.append(f"{_quote_text(quote)} [{n}]")
        return Draft(" ".join(parts), False, None, citations, evidence, support)

    def _score_sentences(
        self,
        question: str,
        terms: set[str],
        candidates: Sequence[Candidate],
        context_terms: Sequence[str],
    ) -> list[_Scored]:
        tuning = self.tuning
        kind = _expected_kind(question)
        context = set(context_terms) - terms
        top_score = candidates[0].score or 1.0
        scored: list[_Scored] = []
        for cand in candidates[: tuning.passages_considered]:
            title_terms = set(analyze(cand.article.title))
            for span in sentence_spans(cand.passage.text):
                start, end = _focus(cand.passage.text, span.start, span.end, terms, tuning)
                sentence = cand.passage.text[start:end]
                sequence = analyze(sentence)
                s_terms = set(sequence)
                matched = self.coverage(terms, s_terms)
                score = (
                    matched
                    + tuning.title_credit * self.coverage(terms, title_terms - s_terms)
                    + (0.3 * self.coverage(context, s_terms) if context else 0.0)
                    + tuning.proximity_weight * matched * _proximity(sequence, terms)
                    + tuning.passage_weight * cand.score / top_score
                    + (tuning.cue_bonus if _satisfies(kind, sentence, terms) else 0.0)
                    - (0.0 if s_terms - terms else 0.5)  # restates the question, adds nothing
                )
                scored.append(_Scored(cand, start, end, s_terms, score))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _support(
        self,
        with_context: set[str],
        terms: set[str],
        candidates: Sequence[Candidate],
        best: _Scored,
    ) -> tuple[Support, list[str]]:
        """The evidence's strength, and the heaviest question terms the best passage lacks."""
        present = [
            set(analyze(c.article.title)) | set(analyze(c.passage.text))
            for c in candidates[: self.tuning.passages_considered]
        ]
        coverages = [self.coverage(terms, p) for p in present]
        top = max(range(len(coverages)), key=coverages.__getitem__)
        missing = sorted(terms - present[top], key=self._idf, reverse=True)[:4]
        return Support(coverages[top], len(with_context & best.terms)), missing

    def strong_enough(self, support: Support) -> bool:
        """The two-tier rule: most of the question's weight, or part of it with terms together."""
        tuning = self.tuning
        if support.coverage >= tuning.min_coverage:
            return True
        return (
            support.coverage >= tuning.min_partial_coverage
            and support.together >= tuning.min_terms_together
        )

    @staticmethod
    def _sentence(s: _Scored) -> str:
        return s.candidate.passage.text[s.start : s.end]

    @staticmethod
    def _abstain(reason: str, evidence: list[Evidence], support: Support | None = None) -> Draft:
        text = f"I couldn't find this in the knowledge base: {reason}."
        if evidence:
            text += " The closest passages are listed below."
        return Draft(text, True, reason, [], evidence, support)
