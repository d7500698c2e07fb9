"""Score every sentence of the retrieved passages: its features, their weighted sum, and the
embedding model's re-ranking of the best few. Composing the answer from them is compose.py's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from bot.core.answering.antecedents import opens_with_pronoun
from bot.core.answering.cues import expected_kind, focus_terms, satisfies
from bot.core.answering.quotes import narrowed
from bot.core.answering.tuning import SemanticTuning, Tuning
from bot.core.articles.models import Article, Passage
from bot.core.text.analysis import analyze
from bot.core.text.sentences import sentence_spans


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

# A sentence (its passage, span and terms) with its features: what the fitting scripts read.
Features = tuple[Candidate, int, int, set[str], tuple[float, ...]]


@dataclass(slots=True)
class Scored:
    """A sentence (a span of its passage) with its terms and score."""

    candidate: Candidate
    start: int
    end: int
    terms: set[str]
    score: float


def sentence_text(s: Scored) -> str:
    return s.candidate.passage.text[s.start : s.end]


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


@lru_cache(maxsize=50_000)
def sentence_terms(sentence: str) -> tuple[str, ...]:
    """A sentence's (or title's) terms in order; popular passages come back question after
    question, and analysing their sentences is most of an answer's work."""
    return tuple(analyze(sentence))


def _aliased(sequence: Sequence[str], aliases: dict[str, str] | None) -> Sequence[str]:
    """Read related terms as the question terms they stand for."""
    return [aliases.get(t, t) for t in sequence] if aliases else sequence


def _pairs(sequence: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent term pairs, in either order ("president of Turkey" ~ "Turkey's president")."""
    return {tuple(sorted(pair)) for pair in pairwise(sequence)}  # type: ignore[misc]


def sentence_features(
    question: str,
    terms: set[str],
    candidates: Sequence[Candidate],
    tuning: Tuning,
    coverage: Callable[[set[str], set[str]], float],
    context_terms: Sequence[str] = (),
    aliases: dict[str, str] | None = None,
) -> list[Features]:
    """Every sentence of the top passages with its features (see SENTENCE_FEATURES);
    `coverage`: the share of the first terms' weight found in the second."""
    kind = expected_kind(question)
    focus = focus_terms(question) & terms
    context = set(context_terms) - terms
    # The best BM25 score, not the first candidate's: dense fusion may put another first.
    top_score = max(c.score for c in candidates) or 1.0
    pairs = _pairs(analyze(question, names=False))
    out: list[Features] = []
    for rank, cand in enumerate(candidates[: tuning.passages_considered]):
        text = cand.passage.text
        title_terms = set(_aliased(sentence_terms(cand.article.title), aliases))
        spans = [
            narrowed(text, span.start, span.end, terms, tuning.max_quote_chars)
            for span in sentence_spans(text)
        ]
        sequences = [_aliased(sentence_terms(text[a:b]), aliases) for a, b in spans]
        term_sets = [set(seq) for seq in sequences]
        for i, (start, end) in enumerate(spans):
            sentence = text[start:end]
            sequence, s_terms = sequences[i], term_sets[i]
            matched = coverage(terms, s_terms)
            neighbours = (term_sets[i - 1] if i else set()) | (
                term_sets[i + 1] if i + 1 < len(term_sets) else set()
            )
            feats = (
                matched,
                coverage(terms, title_terms - s_terms),
                coverage(context, s_terms) if context else 0.0,
                matched * _proximity(sequence, terms),
                cand.score / top_score,
                1.0 if satisfies(kind, sentence, terms) else 0.0,
                len(focus & s_terms) / len(focus) if focus else 0.0,
                0.0 if s_terms - terms else 1.0,  # restates the question, adds nothing
                1.0 / (rank + 1),
                coverage(terms, neighbours - s_terms),
                1.0 if i == 0 else 0.0,
                len(sentence) / 100,
                len(terms & s_terms) / len(terms),
                1.0 if opens_with_pronoun(sentence) else 0.0,
                len(pairs & _pairs(sequence)) / len(pairs) if pairs else 0.0,
            )
            out.append((cand, start, end, s_terms, feats))
    return out


def scored(features: Sequence[Features], weights: Sequence[float]) -> list[Scored]:
    """Each sentence scored as weights · features, best first."""
    out = [
        Scored(cand, a, b, s_terms, sum(w * f for w, f in zip(weights, feats, strict=True)))
        for cand, a, b, s_terms, feats in features
    ]
    out.sort(key=lambda s: -s.score)
    return out


def rerank(
    scored: list[Scored],
    similarity: Callable[[Sequence[str]], Sequence[float]],
    semantic: SemanticTuning,
) -> tuple[list[Scored], float | None, float | None]:
    """Add weight × cosine to the best lexical sentences' scores; the best cosine, and the
    cosine of the sentence that comes out first."""
    head = scored[: semantic.rerank_sentences]
    if not head:
        return scored, None, None
    cosines = [float(c) for c in similarity([sentence_text(s) for s in head])]
    mixed = [
        (Scored(s.candidate, s.start, s.end, s.terms, s.score + semantic.cosine_weight * c), c)
        for s, c in zip(head, cosines, strict=True)
    ]
    mixed.sort(key=lambda pair: -pair[0].score)  # stable: equal scores keep the lexical order
    return [s for s, _ in mixed] + scored[len(head) :], max(cosines), mixed[0][1]
