"""The answer and abstention calibration: every fitted or hand-set parameter, from one
versioned file (tuning.json) that the fitting scripts in benchmarks/ write.

Loaded once at start-up (``default_tuning`` caches it) and passed down through EngineConfig.
Each hand-set value carries a one-line reason in the file's ``reasons``; a sentence weight
whose reason (``sentence_weights.<feature>``) starts "set by hand" is kept by the fit.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TUNING_FILE = Path(__file__).with_name("tuning.json")
TUNING_VERSION = 1

# Which sentences point back at the one before and get it quoted too (see antecedents.py).
AntecedentMode = Literal["off", "pronouns", "pronouns_and_demonstratives"]

# Values whose origin is a fit, not a hand: they need no reason of their own.
_FITTED = frozenset({"sentence_weights", "support_weights", "semantic"})
_NOT_PARAMETERS = frozenset({"version", "fitted", "reasons"})


class SearchFusion(BaseModel):
    """How `Engine.search` (the `search` command) fuses BM25 with the dense path: a convex
    combination of normalised scores (core/retrieval/fusion.py), fitted on dev apart from
    `ask`'s candidates (benchmarks/eval_fit_search.py). Share 0 = lexical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cosine_share: float = Field(default=0.0, ge=0, lt=1)  # the cosine's part (< 1: BM25 counts)
    nearest: int = Field(default=100, ge=1)  # passages by cosine: the last one scales to 0


class SemanticTuning(BaseModel):
    """How the embedding model's cosine joins the lexical evidence (used only when a model is
    loaded; fitted on SQuAD dev by benchmarks/eval_embedding.py). Zero weights = lexical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rerank_sentences: int = Field(default=12, ge=1)  # best lexical sentences given a cosine
    cosine_weight: float = 0.0  # added to a sentence's lexical score × its cosine
    min_cosine: float = -1.0  # veto: abstain when no candidate sentence reaches it
    rescue_cosine: float = 2.0  # answer a lexically weak question when a sentence reaches it
    dense_candidates: int = Field(default=20, ge=1)  # nearest passages fused with BM25's
    dense_weight: float = Field(default=0.0, ge=0)  # dense ranking's weight in RRF (BM25: 1)
    rrf_k: float = Field(default=60.0, gt=0)
    # The model-on abstention score (support.SEMANTIC_FEATURES and "bias"); empty: the
    # lexical score with the veto and rescue above. Answer when it reaches min_support.
    support_weights: dict[str, float] = Field(default_factory=dict)
    min_support: float = 0.0
    search: SearchFusion = SearchFusion()  # search's own fusion with BM25, fitted apart


class Tuning(BaseModel):
    """Weights and limits of retrieval for answers, sentence choice and abstention."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    fitted: dict[str, str]  # fitted group → how it was fitted (script, data)
    sentence_weights: dict[str, float]  # per compose.SENTENCE_FEATURES
    support_weights: dict[str, float]  # per compose.SUPPORT_FEATURES, and "bias"
    min_support: float  # answer when the support score reaches it
    together_cap: int = Field(ge=1)
    passages_considered: int = Field(ge=1)
    max_quote_chars: int = Field(ge=1)
    antecedent_mode: AntecedentMode
    antecedent_max_chars: int = Field(ge=0)
    best_first: bool
    max_sentences: int = Field(ge=1)
    max_answer_chars: int = Field(ge=1)
    second_sentence_min_gain: float
    passing_mention_guard: bool = True  # abstain on names the article only mentions
    candidates: int = Field(ge=1)
    context_weight: float = Field(ge=0)
    expansion_prefix: int = Field(ge=0)  # 0 turns query expansion off
    expansion_share: float = Field(ge=0, le=1)
    expansion_weight: float = Field(ge=0)
    semantic: SemanticTuning = SemanticTuning()
    reasons: dict[str, str]

    @model_validator(mode="after")
    def _reasoned(self) -> Tuning:
        """Every hand-set value has a reason; every reason names a value of the file."""
        if self.version != TUNING_VERSION:
            raise ValueError(f"tuning version {self.version}, expected {TUNING_VERSION}")
        hand_set = set(type(self).model_fields) - _FITTED - _NOT_PARAMETERS
        missing = sorted(name for name in hand_set if not self.reasons.get(name, "").strip())
        if missing:
            raise ValueError(f"hand-set values without a reason: {', '.join(missing)}")
        known = hand_set | {f"sentence_weights.{n}" for n in self.sentence_weights}
        if unknown := sorted(set(self.reasons) - known):
            raise ValueError(f"reasons for unknown values: {', '.join(unknown)}")
        if set(self.fitted) != _FITTED:
            raise ValueError(f"say how each of {sorted(_FITTED)} was fitted")
        return self

    def set_by_hand(self, feature: str) -> bool:
        """The sentence weight of `feature` is set by hand, not fitted."""
        return self.reasons.get(f"sentence_weights.{feature}", "").startswith("set by hand")


def load_tuning(path: Path = TUNING_FILE) -> Tuning:
    """Read and validate a tuning file (pydantic.ValidationError if it is not one)."""
    return Tuning.model_validate_json(Path(path).read_text(encoding="utf-8"))


@cache
def default_tuning() -> Tuning:
    """The shipped tuning.json, read on first use and then kept."""
    return load_tuning()


def write_tuning(tuning: Tuning, path: Path = TUNING_FILE) -> None:
    """Validate and write a tuning file (what the fitting scripts do with new weights)."""
    checked = Tuning.model_validate(tuning.model_dump())  # model_copy does not validate
    text = json.dumps(checked.model_dump(mode="json"), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
