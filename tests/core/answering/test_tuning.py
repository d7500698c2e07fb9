"""The calibration file: the weights it holds are exactly the features the code computes,
every hand-set value says why, and a damaged file is refused."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.core.answering.compose import Composer
from bot.core.answering.scoring import SENTENCE_FEATURES, Candidate
from bot.core.answering.support import SUPPORT_FEATURES, Support
from bot.core.answering.tuning import TUNING_FILE, default_tuning, load_tuning, write_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.core.text.analysis import analyze

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"
QUESTION = "What missile system could Turkey buy?"


def test_sentence_weights_name_exactly_the_features_computed() -> None:
    """tuning.json weighs each computed sentence feature once, and nothing else."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    hits = engine.search(QUESTION, 5)
    candidates = [Candidate(h.passage, h.article, h.score) for h in hits]
    computed = engine.composer.sentence_features(
        QUESTION, set(analyze(QUESTION, names=False)), candidates
    )
    assert computed, "the bundled article answers the question"
    assert {len(feats) for *_, feats in computed} == {len(SENTENCE_FEATURES)}
    assert list(default_tuning().sentence_weights) == list(SENTENCE_FEATURES)


def test_support_weights_name_exactly_the_support_features_and_a_bias() -> None:
    """One weight per Support feature (in its order) and the bias, nothing else."""
    support = Support(*(0.5 for _ in fields(Support)))
    assert len(support.features(default_tuning().together_cap)) == len(SUPPORT_FEATURES)
    assert list(default_tuning().support_weights) == [*SUPPORT_FEATURES, "bias"]


def test_no_fitted_weight_is_zero() -> None:
    """A feature whose fitted weight is zero is dropped from the code, not kept at zero."""
    tuning = default_tuning()
    weights = {**tuning.sentence_weights, **tuning.support_weights}
    assert [name for name, w in weights.items() if w == 0] == []


def test_every_hand_set_value_has_a_reason(tmp_path: Path) -> None:
    """A file whose hand-set value lost its reason, or of another version, is refused."""
    raw = json.loads(TUNING_FILE.read_text(encoding="utf-8"))
    del raw["reasons"]["candidates"]
    (tmp_path / "no-reason.json").write_text(json.dumps(raw))
    with pytest.raises(ValidationError, match="without a reason: candidates"):
        load_tuning(tmp_path / "no-reason.json")
    raw = json.loads(TUNING_FILE.read_text(encoding="utf-8")) | {"version": 99}
    (tmp_path / "version.json").write_text(json.dumps(raw))
    with pytest.raises(ValidationError, match="version"):
        load_tuning(tmp_path / "version.json")


def test_a_composer_refuses_weights_for_features_it_does_not_compute() -> None:
    """Weights naming a feature the code lacks (or lacking one it has) stop the start-up."""
    weights = default_tuning().sentence_weights | {"demonstrative": 0.5}
    tuning = default_tuning().model_copy(update={"sentence_weights": weights})
    with pytest.raises(ValueError, match="do not match the features"):
        Composer(lambda term: 1.0, tuning)


def test_written_tuning_reads_back_the_same(tmp_path: Path) -> None:
    """What a fitting script writes is a valid tuning file equal to what it meant."""
    changed = default_tuning().model_copy(update={"min_support": 0.25})
    write_tuning(changed, tmp_path / "t.json")
    assert load_tuning(tmp_path / "t.json") == changed
    assert default_tuning().set_by_hand("context_coverage")
    assert not default_tuning().set_by_hand("coverage")
