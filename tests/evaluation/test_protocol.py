"""The abstention protocol's bookkeeping, on hand-made outcomes."""

from __future__ import annotations

from bot.core.compose import ComposerTuning, Support
from bot.evaluation.protocol import (
    Outcome,
    Row,
    frontier,
    never_abstain,
    operating_point,
    removed_articles,
    rule_of,
    score,
    tradeoff,
)


def outcome(text: str, coverage: float, together: int, article: str = "A.md") -> Outcome:
    return Outcome(
        text, text, article.removesuffix(".md"), article, False, Support(coverage, together), 1.0
    )


def test_rule_matches_the_composer_two_tier_rule() -> None:
    """Most of the weight answers; part of it answers only with enough terms together."""
    rule = rule_of(ComposerTuning(min_coverage=0.6, min_partial_coverage=0.3, min_terms_together=2))
    assert not rule(outcome("x", 0.7, 0))
    assert not rule(outcome("x", 0.4, 2))
    assert rule(outcome("x", 0.4, 1))
    assert rule(outcome("x", 0.2, 5))


def test_forced_abstention_is_always_abstained() -> None:
    """No passage at all is an abstention whatever the thresholds."""
    empty = Outcome("", "", "", "", True, None, 1.0)
    assert never_abstain(empty)
    assert rule_of(ComposerTuning(min_coverage=0.0))(empty)


def test_score_counts_hits_citations_and_articles() -> None:
    """Rates are over all questions; an abstention is a miss, not a skipped row."""
    rows = [Row("q1", ("Paris",), "A"), Row("q2", ("Rome",), "A"), Row("q3", ("Oslo",), "B")]
    outs = [outcome("In Paris.", 0.9, 3), outcome("In Rome.", 0.1, 0), outcome("Oslo!", 0.9, 3)]
    figures = score(rows, outs, rule_of(ComposerTuning()))
    assert figures.questions == 3
    assert figures.abstention_rate == 1 / 3
    assert figures.answer_hit_rate == 2 / 3
    assert figures.first_citation_hit_rate == 1 / 3  # q3 quotes the wrong article
    assert figures.right_article_rate == 1 / 3
    assert figures.mean_answer_chars == (9 + 5) / 2


def test_tradeoff_frontier_and_operating_point() -> None:
    """The chosen point abstains most on removed articles within the in-KB budget."""
    rows = [Row("q", ("a",), "A")] * 4
    inside = [outcome("a", c, 3) for c in (0.9, 0.8, 0.7, 0.35)]
    outside = [outcome("a", c, 1) for c in (0.2, 0.3, 0.5, 0.65)]
    points = tradeoff(
        rows,
        inside,
        outside,
        ComposerTuning(),
        coverages=[0.4, 0.6, 0.75],
        partials=[0.0],
        togethers=[9],
    )
    by_cov = {p.min_coverage: p for p in points}
    assert by_cov[0.6].out_abstained == 0.75 and by_cov[0.6].in_wrongly_abstained == 0.25
    assert by_cov[0.4].in_wrongly_abstained == 0.25 and by_cov[0.4].out_abstained == 0.5
    best = operating_point(points, max_wrong=0.25)
    assert best is not None and best.min_coverage == 0.6
    front = frontier(points)
    assert [p.min_coverage for p in front] == [0.6, 0.75]  # 0.4 is dominated by 0.6


def test_removed_articles_are_a_deterministic_third() -> None:
    """Every third article in sorted order, whatever order they come in."""
    names = ["c", "a", "f", "b", "e", "d"]
    assert removed_articles(names) == ["a", "d"]
    assert removed_articles(list(reversed(names))) == ["a", "d"]
