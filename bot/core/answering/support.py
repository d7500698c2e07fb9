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
    chosen_cosine: float | None = None  # the chosen sentence's cosine with the question
    passage_cosine: float | None = None  # best cosine of a candidate passage (vectors ready)
    article_margin: float = 0.0  # 1 − second article's best BM25 score / the top article's
    rare_missing: float = 0.0  # share of the two rarest question terms' weight not in the sentence
    rare_missing_passage: float = 0.0  # … not in the best-covering passage
    rare_spread: float = 0.0  # log(1 + passages of the chosen article holding the rarest term)
    asked_share: float = 1.0  # share of what is asked about a name (not the name) in the sentence

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


# What the model-on abstention score weighs (tuning.json's `semantic.support_weights`):
# the lexical figures plus the model's best cosine and the figures that tell a passing
# mention from a topic. Fitted by benchmarks/eval_fit_semantic_abstention.py; the chosen
# sentence's and best passage's cosines are recorded too but not weighed (on dev they added
# nothing out of fold, and a passage's cosine depends on its length and title).
SEMANTIC_FEATURES = (
    *SUPPORT_FEATURES,
    "max_cosine",
    "article_margin",
    "rare_missing",
    "rare_missing_passage",
    "rare_spread",
    "asked_share",
)


def semantic_features(support: Support, together_cap: int) -> tuple[float, ...]:
    """The figures the model-on score weighs, in SEMANTIC_FEATURES order."""
    return (
        *support.features(together_cap),
        support.max_cosine if support.max_cosine is not None else 0.0,
        support.article_margin,
        support.rare_missing,
        support.rare_missing_passage,
        support.rare_spread,
        support.asked_share,
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


def semantic_score(support: Support, tuning: Tuning, semantic: SemanticTuning) -> float:
    """The model-on logistic score (log-odds) that the knowledge base answers the question."""
    *w, bias = ordered_weights(semantic.support_weights, (*SEMANTIC_FEATURES, "bias"))
    features = semantic_features(support, tuning.together_cap)
    return bias + sum(a * f for a, f in zip(w, features, strict=True))


def answers(support: Support, tuning: Tuning, semantic: SemanticTuning | None) -> bool:
    """The abstention rule: with the model, its fitted score over lexical and semantic
    figures (or, without fitted weights, the lexical score with a cosine veto and rescue);
    without it, the lexical support score."""
    if semantic is not None and support.max_cosine is not None and semantic.support_weights:
        score = semantic_score(support, tuning, semantic)
        return support.own_words and score >= semantic.min_support
    if semantic is not None and support.max_cosine is not None:
        if support.max_cosine >= semantic.rescue_cosine:
            return True
        if support.max_cosine < semantic.min_cosine:
            return False
    return support.own_words and support_score(support, tuning) >= tuning.min_support
