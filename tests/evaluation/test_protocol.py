"""The abstention protocol's bookkeeping, on hand-made outcomes."""

from __future__ import annotations

import pytest

from bot.core.answering.support import Support, support_score
from bot.core.answering.tuning import Tuning, default_tuning
from bot.evaluation.protocol import (
    Outcome,
    Row,
    as_answered,
    operating_point,
    removed_articles,
    rule_of,
    score,
    tradeoff,
)


def tuned(**changes: object) -> Tuning:
    """The shipped tuning with some values changed."""
    return default_tuning().model_copy(update=changes)


# Answer when coverage ≥ 0.5 (support score = coverage − 0.5).
COVERAGE_WEIGHTS = {
    "coverage": 1.0,
    "together": 0.0,
    "sentence_coverage": 0.0,
    "article_share": 0.0,
    "title_match": 0.0,
    "bias": -0.5,
}
COVERAGE_ONLY = tuned(support_weights=COVERAGE_WEIGHTS, min_support=0.0)


def outcome(text: str, coverage: float, together: int, article: str = "A.md") -> Outcome:
    return Outcome(
        text, text, article.removesuffix(".md"), article, False, Support(coverage, together), 1.0
    )


def test_rule_is_the_composers_support_score() -> None:
    """An outcome is abstained exactly when its support score is below the threshold."""
    tuning = COVERAGE_ONLY
    rule = rule_of(tuning)
    assert not rule(outcome("x", 0.7, 0))
    assert not rule(outcome("x", 0.5, 0))
    assert rule(outcome("x", 0.4, 9))
    assert support_score(Support(0.7, 0), tuning) == pytest.approx(0.2)


def test_forced_abstention_is_always_abstained() -> None:
    """No passage at all is an abstention whatever the threshold."""
    empty = Outcome("", "", "", "", True, None, 1.0)
    assert as_answered(empty)
    assert rule_of(tuned(min_support=-1e9))(empty)


def test_score_counts_hits_citations_and_articles() -> None:
    """Rates are over all questions; an abstention is a miss, not a skipped row."""
    rows = [Row("q1", ("Paris",), "A"), Row("q2", ("Rome",), "A"), Row("q3", ("Oslo",), "B")]
    outs = [outcome("In Paris.", 0.9, 3), outcome("In Rome.", 0.1, 0), outcome("Oslo!", 0.9, 3)]
    figures = score(rows, outs, rule_of(COVERAGE_ONLY))
    assert figures.questions == 3
    assert figures.abstention_rate == 1 / 3
    assert figures.answer_hit_rate == 2 / 3
    assert figures.citation_hit_rate == 1 / 3  # q3 quotes the wrong article
    assert figures.right_article_rate == 1 / 3
    assert figures.mean_answer_chars == (9 + 5) / 2


def test_tradeoff_and_operating_point() -> None:
    """The chosen threshold abstains most on removed articles within the in-KB budget."""
    rows = [Row("q", ("a",), "A")] * 4
    inside = [outcome("a", c, 3) for c in (0.9, 0.8, 0.7, 0.35)]
    outside = [outcome("a", c, 1) for c in (0.2, 0.3, 0.5, 0.65)]
    points = tradeoff(rows, inside, outside, COVERAGE_ONLY, thresholds=[-0.1, 0.1, 0.25])
    by_threshold = {p.min_support: p for p in points}
    assert by_threshold[0.1].out_abstained == 0.75
    assert by_threshold[0.1].in_wrongly_abstained == 0.25
    assert by_threshold[0.25].out_abstained == 1.0
    assert by_threshold[0.25].in_wrongly_abstained == 0.5
    best = operating_point(points, max_wrong=0.25)
    assert best is not None and best.min_support == 0.1
    assert operating_point(points, max_wrong=0.0) is None


def test_removed_articles_are_a_deterministic_third() -> None:
    """Every third article in sorted order, whatever order they come in."""
    names = ["c", "a", "f", "b", "e", "d"]
    assert removed_articles(names) == ["a", "d"]
    assert removed_articles(list(reversed(names))) == ["a", "d"]


def test_right_article_counts_only_questions_naming_one() -> None:
    """Right article: over the questions naming an article, all of them and answered ones."""
    rows = [Row("q1", ("Paris",), "A"), Row("q2", ("Rome",), "A"), Row("q3", ("Oslo",), None)]
    outs = [outcome("In Paris.", 0.9, 3), outcome("In Rome.", 0.1, 0), outcome("Oslo!", 0.9, 3)]
    figures = score(rows, outs, rule_of(COVERAGE_ONLY))
    assert figures.right_article_rate == 1 / 2  # q2, abstained, is a miss
    assert figures.answered_right_article_rate == 1.0  # q1 is the only answered one naming A
    assert figures.citation_hit_rate == 2 / 3  # q3 names no article: its quote counts
    assert as_answered(outs[1]) is False  # as answered: only the answer's own abstention
