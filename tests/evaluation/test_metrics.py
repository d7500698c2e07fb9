"""Metric functions of the evaluation, on tiny hand-made data."""

from __future__ import annotations

import math

import pytest

from bot.evaluation.metrics import (
    contains_answer,
    fold,
    ndcg_at_k,
    percentile,
    recall_at_k,
    same_article,
    strip_markers,
)


def test_answer_match_ignores_case_accents_and_spacing() -> None:
    """A gold answer counts however it is cased, accented or spaced."""
    assert contains_answer("Ilham Aliyev spoke to CNN  Türk.", ["cnn turk"])
    assert contains_answer("Recep Tayyip Erdogan", ["ERDOĞAN"])
    assert contains_answer("it cost US$1,000,000 then", ["$1,000,000"])


def test_answer_match_needs_the_whole_gold_answer() -> None:
    """Part of a gold answer, an empty gold answer or no gold at all is not a hit."""
    assert not contains_answer("Denver", ["Denver Broncos"])
    assert not contains_answer("anything", ["", "  "])
    assert not contains_answer("anything", [])


def test_any_of_several_gold_answers_is_enough() -> None:
    """SQuAD rows list several acceptable answers; one of them suffices."""
    assert contains_answer("held at Levi's Stadium", ["Santa Clara, California", "Levi's Stadium"])


def test_typographic_quotes_fold_like_straight_ones() -> None:
    """Curly apostrophes in an article match straight ones in the gold answer."""
    assert fold("Levi’s Stadium") == fold("Levi's stadium")


def test_markers_are_stripped() -> None:
    """Citation markers do not count toward answer text or length."""
    assert strip_markers("One. [1] Two. [2]") == "One. Two."


def test_same_article_by_title_or_file_name() -> None:
    """An article is named by its title or by its file name with underscores."""
    assert same_article("Super_Bowl_50", "Super Bowl 50", "Super_Bowl_50.md")
    assert same_article("Super Bowl 50", "Other", "sub/Super_Bowl_50.md")
    assert not same_article("Warsaw", "Super Bowl 50", "Super_Bowl_50.md")


def test_ndcg_by_hand() -> None:
    """nDCG@k uses linear gains and log2 discounts, normalised by the ideal ranking."""
    relevant = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "c"], relevant, 10) == pytest.approx(1.0)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a"], relevant, 10) == pytest.approx(expected)
    assert ndcg_at_k(["x", "y", "a"], relevant, 2) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0


def test_graded_ndcg() -> None:
    """A more relevant document first scores higher than the reverse order."""
    relevant = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b"], relevant) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], relevant) < 1.0


def test_recall_at_k() -> None:
    """Recall@k is the share of relevant documents in the first k."""
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a"], {"a": 0}, 10) == 0.0


def test_percentile_nearest_rank() -> None:
    """Percentiles use the nearest-rank method and are 0 for no values."""
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([1.0, 2.0], 95) == 2.0
    assert percentile([], 50) == 0.0
