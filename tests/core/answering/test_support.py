"""The abstention rule with the embedding model: the fitted score over lexical and semantic
figures, the older veto and rescue when no score is fitted, and nothing without a model."""

from __future__ import annotations

from dataclasses import replace

from bot.core.answering.support import (
    SEMANTIC_FEATURES,
    Support,
    answers,
    semantic_score,
    support_score,
)
from bot.core.answering.tuning import default_tuning


def test_the_cosine_vetoes_and_rescues_only_where_it_is_set() -> None:
    """Without a cosine the lexical rule decides alone; with one, a cosine below the veto
    abstains on lexically strong evidence, one at the rescue answers lexically weak evidence,
    and in between the lexical rule decides."""
    tuning = default_tuning()
    semantic = tuning.semantic.model_copy(
        update={"min_cosine": 0.3, "rescue_cosine": 0.8, "support_weights": {}}
    )
    strong = Support(coverage=1.0, together=5, sentence_coverage=1.0, article_share=1.0)
    weak = Support(coverage=0.1, together=0, sentence_coverage=0.0, article_share=0.1)
    assert support_score(strong, tuning) >= tuning.min_support > support_score(weak, tuning)
    assert answers(strong, tuning, semantic) and not answers(weak, tuning, semantic)
    assert answers(strong, tuning, None) and not answers(weak, tuning, None)

    def cos(support: Support, value: float) -> Support:
        return replace(support, max_cosine=value)

    assert not answers(cos(strong, 0.2), tuning, semantic)  # vetoed
    assert answers(cos(strong, 0.5), tuning, semantic)
    assert not answers(cos(weak, 0.5), tuning, semantic)
    assert answers(cos(weak, 0.85), tuning, semantic)  # rescued
    assert answers(cos(strong, 0.2), tuning, None)  # no model settings: the cosine is ignored


def test_a_passage_without_the_users_own_words_is_not_enough_lexically() -> None:
    """Only look-alike words matched: abstain, unless the model finds a very close sentence."""
    tuning = default_tuning()
    semantic = tuning.semantic.model_copy(update={"rescue_cosine": 0.8, "support_weights": {}})
    alike = Support(1.0, 5, 1.0, 1.0, own_words=False, max_cosine=0.5)
    assert not answers(alike, tuning, semantic)
    close = Support(1.0, 5, 1.0, 1.0, own_words=False, max_cosine=0.9)
    assert answers(close, tuning, semantic)


def test_the_fitted_score_weighs_meaning_beside_the_words() -> None:
    """With fitted weights the model-on rule is one score: the same lexical evidence is
    answered when its best sentence is close in meaning and refused when it is not; a
    passage without the user's own words is refused whatever the score; no cosine (no
    model) leaves the lexical rule."""
    tuning = default_tuning()
    semantic = tuning.semantic
    assert set(semantic.support_weights) == {*SEMANTIC_FEATURES, "bias"}
    middling = Support(0.7, 3, 0.6, 0.8, title_match=1.0, article_margin=0.5)

    def near(value: float, **changes: object) -> Support:
        return replace(middling, max_cosine=value, chosen_cosine=value, passage_cosine=value,
                       **changes)  # fmt: skip

    assert semantic_score(near(0.8), tuning, semantic) > semantic_score(near(0.2), tuning, semantic)
    assert answers(near(0.8), tuning, semantic)
    assert not answers(near(0.1), tuning, semantic)
    assert not answers(near(0.8, own_words=False), tuning, semantic)
    assert answers(middling, tuning, semantic) == answers(middling, tuning, None)
