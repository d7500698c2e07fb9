"""Misspelt query terms: matched to the nearest vocabulary term, never when the term exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.spelling import Speller
from bot.core.text.english import is_english

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_knowledge(KNOWLEDGE))


def test_nearest_term_prefers_fewer_edits_then_more_passages() -> None:
    """Among terms one edit away the most frequent wins; a closer term beats a frequent one."""
    speller = Speller(["yuan", "yarn", "turkey"], np.array([40, 2, 9]))
    assert speller.nearest("yaun").to == "yuan"  # a swap is one edit (OSA)
    assert speller.nearest("turki", "turky").to == "turkey"  # the word as typed is closer
    assert speller.nearest("zzzz") is None


def test_rarer_terms_are_no_target() -> None:
    """With a document-frequency floor, terms seen once are never proposed."""
    speller = Speller(["oxygen", "oxgyen"], np.array([50, 1]), min_doc_freq=2)
    assert speller.size == 1
    assert speller.nearest("oxyegn").to == "oxygen"


def test_misspelt_name_is_answered_and_reported(engine: Engine) -> None:
    """'Aliev' finds 'Aliyev'; the answer says what was searched instead of what."""
    answer = engine.answer("What did Ilham Aliev complain about?")
    assert not answer.abstained
    assert "Aliyev" in answer.answer
    assert [(c.typed, c.searched) for c in answer.corrections] == [("aliev", "aliyev")]


def test_known_and_english_words_are_never_corrected(engine: Engine) -> None:
    """A term the index has stays; so does an English word the knowledge base lacks."""
    assert engine.answer("Who is the president of Turkey?").corrections == []
    assert is_english("born")
    assert engine.answer("Where was Erdogan born?").corrections == []


def test_spelling_can_be_turned_off() -> None:
    """EngineConfig(spelling=False) searches exactly the words typed."""
    plain = Engine(load_knowledge(KNOWLEDGE), EngineConfig(spelling=False))
    assert plain.answer("What did Ilham Aliev complain about?").corrections == []
