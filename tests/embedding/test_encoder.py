"""The sentence encoder built from the upstream weights matches an independent reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.embedding.encoder import OnnxEncoder

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "embedding_reference.json"


def _reference() -> tuple[list[str], np.ndarray]:
    data = json.loads(REFERENCE.read_text())
    return data["sentences"], np.array(data["vectors"], dtype=np.float64)


@pytest.mark.parametrize(("quantized", "floor"), [(False, 0.999), (True, 0.99)])
def test_vectors_match_the_reference(model_dir: Path, quantized: bool, floor: float) -> None:
    """Every fixture sentence (casual, accented, emoji, numbers, over 256 tokens) lands on the
    reference vector of transformers' BertModel + mean pooling: cosine ≥ 0.999 for the fp32
    graph, ≥ 0.99 for the int8 one."""
    sentences, reference = _reference()
    vectors = OnnxEncoder(model_dir, quantized=quantized).encode(sentences)
    assert vectors.dtype == np.float32
    assert vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * reference, axis=1) / np.linalg.norm(reference, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= floor, (sentences[worst], cosines[worst])


def test_a_vector_depends_on_its_text_alone(model_dir: Path) -> None:
    """A text's vector is the same whether it is encoded alone or among others of other
    lengths: exactly for int8 (one text per run), to float rounding for fp32 (batched)."""
    sentences, _ = _reference()
    fp32 = OnnxEncoder(model_dir, quantized=False)
    together = fp32.encode(sentences)
    alone = np.vstack([fp32.encode([s]) for s in sentences[:5]])
    np.testing.assert_allclose(together[:5], alone, atol=1e-5)
    int8 = OnnxEncoder(model_dir)
    together = int8.encode(sentences)
    alone = np.vstack([int8.encode([s]) for s in sentences[:5]])
    np.testing.assert_array_equal(together[:5], alone)
    assert int8.encode([]).shape == (0, 384)


def test_a_paraphrase_is_nearer_than_a_different_topic(model_dir: Path) -> None:
    """Cosine ranks a reworded sentence above an unrelated one (what the re-ranker relies on)."""
    encoder = OnnxEncoder(model_dir)
    q, para, other = encoder.encode(
        [
            "Why is the US worried about the S-400 in Turkey?",
            "The United States fears the Russian S-400 system could compromise its F-35 jets.",
            "Photosynthesis converts light energy into chemical energy.",
        ]
    )
    assert q @ para > q @ other + 0.3
