"""Abstention's evidence: how strongly the retrieved passages support an answer, and the
calibrated score the composer answers on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.answering.tuning import SemanticTuning, Tuning


@dataclass(frozen=True, slots=True)
class Support:
    """How strongly the retrieved passages support an answer (what abstention decides on)."""

    coverage: float  # share of the question's weight found in the best-covering passage
    together: int  # question (and context) terms inside the chosen sentence
    sentence_coverage: float = 0.0  # share of the question's weight in the chosen sentence
    article_share: float = 0.0  # share of the retrieved score mass in the top article
    title_match: float = 0.0  # the top passage's title has a question term (1) or not (0)
    # Best cosine between the question and a candidate sentence (None: no embedding model).
    max_cosine: float | None = None
    own_words: bool = True  # the best passage holds a word the user typed (not only aliases)

    def features(self, together_cap: int) -> tuple[float, ...]:
        """The figures the abstention score weighs, in SUPPORT_FEATURES order."""
        return (
            self.coverage,
            min(self.together, together_cap),
            self.sentence_coverage,
            self.article_share,
            self.title_match,
        )


# What abstention weighs, in Support.features order; tuning.json's `support_weights` has
# one weight for each, and a "bias".
SUPPORT_FEATURES = (
    "coverage",
    "together",
    "sentence_coverage",
    "article_share",
    "title_match",
)


def ordered_weights(weights: dict[str, float], names: Sequence[str]) -> tuple[float, ...]:
    """The weights in the order the code computes its features (ValueError if the names of
    the calibration and of the code differ: a weight for nothing, or a feature unweighed)."""
    if set(weights) != set(names):
        raise ValueError(
            f"tuning weights {sorted(weights)} do not match the features {sorted(names)}"
        )
    return tuple(weights[name] for name in names)


def support_score(support: Support, tuning: Tuning) -> float:
    """A logistic score (log-odds) that the knowledge base answers the question."""
    *w, bias = ordered_weights(tuning.support_weights, (*SUPPORT_FEATURES, "bias"))
    features = support.features(tuning.together_cap)
    return bias + sum(a * f for a, f in zip(w, features, strict=True))


def answers(support: Support, tuning: Tuning, semantic: SemanticTuning | None) -> bool:
    """The abstention rule: the lexical support score, then the model's cosine if there is one
    — a veto when no sentence is near the question, a rescue when one is very near."""
    if semantic is not None and support.max_cosine is not None:
        if support.max_cosine >= semantic.rescue_cosine:
            return True
        if support.max_cosine < semantic.min_cosine:
            return False
    return support.own_words and support_score(support, tuning) >= tuning.min_support
