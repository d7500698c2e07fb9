"""The abstention rule with the embedding model: a veto, a rescue, and nothing without it."""

from __future__ import annotations

from dataclasses import replace

from bot.core.answering.support import Support, answers, support_score
from bot.core.answering.tuning import default_tuning


def test_the_cosine_vetoes_and_rescues_only_where_it_is_set() -> None:
    """Without a cosine the lexical rule decides alone; with one, a cosine below the veto
    abstains on lexically strong evidence, one at the rescue answers lexically weak evidence,
    and in between the lexical rule decides."""
    tuning = default_tuning()
    semantic = tuning.semantic.model_copy(update={"min_cosine": 0.3, "rescue_cosine": 0.8})
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
    semantic = tuning.semantic.model_copy(update={"rescue_cosine": 0.8})
    alike = Support(1.0, 5, 1.0, 1.0, own_words=False, max_cosine=0.5)
    assert not answers(alike, tuning, semantic)
    close = Support(1.0, 5, 1.0, 1.0, own_words=False, max_cosine=0.9)
    assert answers(close, tuning, semantic)
