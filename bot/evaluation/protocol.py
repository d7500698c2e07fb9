"""Run an engine, the service or the baseline over question rows and score the outcomes:
the one definition of every figure, for `python -m bot eval` and the benchmarks alike.

An engine outcome keeps the answer a question would get with abstention switched off, plus
the support figures the abstention rule decides on, so one run scores every setting of the
rule. A service outcome is the answer as a user got it (the rule already applied).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from bot.service import QAService

from bot.core.answering.answers import Citation
from bot.core.answering.support import Support, answers
from bot.core.answering.tuning import Tuning
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Semantics
from bot.core.retrieval.index import BM25Index
from bot.evaluation.baseline import Baseline
from bot.evaluation.metrics import contains_answer, percentile, same_article, strip_markers


@dataclass(frozen=True, slots=True)
class Row:
    """One evaluation question: gold answers and, optionally, the article it is about."""

    question: str
    answers: tuple[str, ...] = ()
    article: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one question got: the answer text, its first citation, and its support."""

    text: str
    quote: str
    title: str
    article_id: str
    forced_abstention: bool  # nothing to answer with, whatever the rule says
    support: Support | None
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Figures:
    """The headline figures of one run.

    Rates are shares of all questions, an abstention counting as a miss; the `answered_`
    ones are shares of the answered questions. "Right article" (the first citation is from
    the question's article) only counts questions that name an article: the headline is
    among answered ones (`answered_right_article_rate`), reported over all of them too.
    """

    questions: int
    answer_hit_rate: float
    citation_hit_rate: float  # gold answer in the first citation's quote, right article
    right_article_rate: float | None  # over every question naming an article
    abstention_rate: float
    mean_answer_chars: float
    latency_p50_ms: float
    latency_p95_ms: float
    answered_hit_rate: float = 0.0  # answer hit among answered questions
    answered_right_article_rate: float | None = None  # among answered questions naming one


Rule = Callable[[Outcome], bool]  # True when the outcome is abstained


def as_answered(outcome: Outcome) -> bool:
    """Abstained only where the answer itself abstained (the baseline never does; a
    service answer has the composer's rule applied already)."""
    return outcome.forced_abstention


def rule_of(tuning: Tuning) -> Rule:
    """The composer's abstention rule with these thresholds, applied to recorded outcomes
    (with the embedding model's where the outcome has a cosine: its fitted score, or the
    veto and rescue when none is fitted)."""

    def abstains(outcome: Outcome) -> bool:
        if outcome.forced_abstention or outcome.support is None:
            return True
        return not answers(outcome.support, tuning, tuning.semantic)

    return abstains


def open_engine(
    kb: KnowledgeBase,
    config: EngineConfig,
    semantics: Semantics | None = None,
    index: BM25Index | None = None,
) -> Engine:
    """An engine over `kb` whose composer never abstains on weak evidence (rules apply later);
    `semantics`: the embedding model (None: lexical); `index`: one already built for `kb`."""
    # The model's threshold and rescue at -inf answer everything too; outcomes keep the figures.
    semantic = config.tuning.semantic.model_copy(
        update={"rescue_cosine": -math.inf, "min_support": -math.inf}
    )
    tuning = config.tuning.model_copy(update={"min_support": -math.inf, "semantic": semantic})
    return Engine(kb, replace(config, tuning=tuning), index, semantics)


def outcome_of(
    text: str,
    abstained: bool,
    citations: Sequence[Citation],
    support: Support | None,
    latency_ms: float,
) -> Outcome:
    """An answer (a draft or a stored one) as the figures see it: its text and first citation."""
    first = citations[0] if citations else None
    return Outcome(
        text=strip_markers(text) if not abstained else "",
        quote=first.quote if first else "",
        title=first.title if first else "",
        article_id=first.article_id if first else "",
        forced_abstention=abstained,
        support=support,
        latency_ms=latency_ms,
    )


def run_engine(engine: Engine, rows: Sequence[Row], desc: str = "engine") -> list[Outcome]:
    """Ask every row's question as a stand-alone question; record the outcome."""
    out: list[Outcome] = []
    for row in tqdm(rows, desc=desc, unit="q", leave=False):
        started = time.perf_counter()
        draft = engine.draft(row.question)
        elapsed = (time.perf_counter() - started) * 1000
        out.append(outcome_of(draft.text, draft.abstained, draft.citations, draft.support, elapsed))
    return out


async def run_service(
    service: QAService, rows: Sequence[Row], progress: bool = True
) -> list[Outcome]:
    """Ask every row's question through the service, stored like any answer; record it."""
    out: list[Outcome] = []
    for row in tqdm(rows, disable=not progress, unit="q", desc="eval", leave=False):
        answer = await service.ask(row.question)
        latency = answer.latency_ms or 0.0
        out.append(outcome_of(answer.answer, answer.abstained, answer.citations, None, latency))
    return out


async def evaluate(service: QAService, rows: Sequence[Row], progress: bool = True) -> Figures:
    """What `python -m bot eval` reports: the rows asked through the service, scored."""
    return score(rows, await run_service(service, rows, progress), as_answered)


def run_baseline(baseline: Baseline, rows: Sequence[Row], titles: dict[str, str]) -> list[Outcome]:
    """Ask every question of the baseline (which never abstains)."""
    out: list[Outcome] = []
    for row in tqdm(rows, desc="baseline", unit="q", leave=False):
        started = time.perf_counter()
        got = baseline.answer(row.question)
        elapsed = (time.perf_counter() - started) * 1000
        article_id = got.passage.article_id if got.passage else ""
        out.append(
            Outcome(
                got.text,
                got.text,
                titles.get(article_id, ""),
                article_id,
                got.passage is None,
                None,
                elapsed,
            )
        )
    return out


def score(rows: Sequence[Row], outcomes: Sequence[Outcome], abstains: Rule) -> Figures:
    """Answer hit, first-citation hit (gold in the first quote, right article), and the rest."""
    hits = cite_hits = abstained = right = answered_with_article = 0
    lengths: list[int] = []
    with_article = sum(1 for r in rows if r.article)
    for row, o in zip(rows, outcomes, strict=True):
        if abstains(o):
            abstained += 1
            continue
        lengths.append(len(o.text))
        hits += contains_answer(o.text, row.answers)
        on_article = bool(row.article) and same_article(row.article or "", o.title, o.article_id)
        right += on_article
        answered_with_article += bool(row.article)
        cite_hits += contains_answer(o.quote, row.answers) and (on_article or not row.article)
    n = max(len(rows), 1)
    answered = max(len(rows) - abstained, 1)
    latencies = [o.latency_ms for o in outcomes]
    return Figures(
        questions=len(rows),
        answer_hit_rate=hits / n,
        citation_hit_rate=cite_hits / n,
        right_article_rate=right / with_article if with_article else None,
        abstention_rate=abstained / n,
        mean_answer_chars=statistics.fmean(lengths) if lengths else 0.0,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        answered_hit_rate=hits / answered,
        answered_right_article_rate=(
            right / answered_with_article if answered_with_article else None
        ),
    )


def abstention_rate(outcomes: Iterable[Outcome], abstains: Rule) -> float:
    items = list(outcomes)
    return sum(map(abstains, items)) / len(items) if items else 0.0


def removed_articles(articles: Sequence[str], share: int = 3) -> list[str]:
    """A deterministic 1/`share` of the articles: every `share`-th in sorted order."""
    return sorted(articles)[::share]


def sample(rows: Sequence[Row], n: int | None, seed: int = 0) -> list[Row]:
    """A deterministic random sample of n rows (all of them when n is None or too large)."""
    if n is None or n >= len(rows):
        return list(rows)
    return random.Random(seed).sample(list(rows), n)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    min_support: float
    out_abstained: float  # questions about removed articles that were abstained
    in_wrongly_abstained: float  # questions about present articles that were abstained
    in_answer_hit_rate: float


def tradeoff(
    in_rows: Sequence[Row],
    in_outcomes: Sequence[Outcome],
    out_outcomes: Sequence[Outcome],
    base: Tuning,
    thresholds: Iterable[float],
) -> list[CurvePoint]:
    """The abstention rule at every threshold, scored on both sides of the protocol."""
    points = []
    for threshold in thresholds:
        rule = rule_of(base.model_copy(update={"min_support": threshold}))
        points.append(
            CurvePoint(
                threshold,
                abstention_rate(out_outcomes, rule),
                abstention_rate(in_outcomes, rule),
                score(in_rows, in_outcomes, rule).answer_hit_rate,
            )
        )
    return points


def operating_point(points: Sequence[CurvePoint], max_wrong: float = 0.05) -> CurvePoint | None:
    """The point abstaining most on out-of-KB questions with at most `max_wrong` in-KB."""
    ok = [p for p in points if p.in_wrongly_abstained <= max_wrong + 1e-12]
    return max(ok, key=lambda p: (p.out_abstained, p.in_answer_hit_rate), default=None)
