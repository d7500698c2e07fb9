"""The embedding model inside the engine: passage vectors cached by content, the dense path,
the size limit, the `off` setting and a missing model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from bot.core.engine import Engine, EngineConfig, SearchResult
from bot.core.retrieval.dense import Encoder, Semantics
from bot.core.text.analysis import analyze
from bot.embedding.encoder import OnnxEncoder
from bot.embedding.files import INSTALL_COMMAND
from bot.embedding.lazy import LazyEncoder
from bot.knowledge.factory import build_engine, dense_notice, load_knowledge_base
from bot.knowledge.vectors import passage_vectors, sentence_texts, stored_vectors
from bot.settings import Settings
from tests.knowledge.conftest import QUESTIONS


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, folder: Path) -> None:
        self._encoder = OnnxEncoder(folder)
        self.name = self._encoder.name
        self.dimension = self._encoder.dimension
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self._encoder.encode(texts)


@pytest.fixture
def with_model(settings: Settings, model_dir: Path) -> Settings:
    return settings.model_copy(update={"embedding_model": str(model_dir)})


def test_passage_vectors_are_reused_and_only_changed_passages_embedded(
    with_model: Settings, model_dir: Path, knowledge_dir: Path, tmp_path: Path
) -> None:
    """Every passage and each of its sentences is embedded once; a second build embeds
    nothing; after an edit, only the edited passage and its sentences are embedded."""
    path = tmp_path / "vectors.npz"
    kb = load_knowledge_base(with_model)
    encoder = CountingEncoder(model_dir)
    first = stored_vectors(kb, encoder, path)
    sentences = [s for p in kb.passages for s in sentence_texts(p.text)]
    assert len(encoder.texts) == len(kb.passages) + len(sentences)
    assert len(first.passages) == len(kb.passages)
    assert len(first.sentences) == len(set(sentences))
    np.testing.assert_allclose(
        np.linalg.norm(first.passages.astype(np.float32), axis=1), 1, atol=2e-3
    )
    again = CountingEncoder(model_dir)
    reread = stored_vectors(kb, again, path)
    np.testing.assert_array_equal(reread.passages, first.passages)
    np.testing.assert_array_equal(reread.sentences.keys, first.sentences.keys)
    np.testing.assert_array_equal(reread.sentences.vectors, first.sentences.vectors)
    assert again.texts == []

    article = next(knowledge_dir.iterdir())
    text = article.read_text(encoding="utf-8")
    last = text.rstrip().rsplit("\n\n", 1)[1]
    article.write_text(text.replace(last, last + " Ankara said so on Tuesday."), encoding="utf-8")
    edited = load_knowledge_base(with_model, use_cache=False)
    third = CountingEncoder(model_dir)
    stored_vectors(edited, third, path)
    changed = next(p.text for p in edited.passages if "Ankara said so on Tuesday." in p.text)
    assert third.texts[0].endswith(changed)  # the passage (title first), then its sentences
    assert third.texts[1:] == sentence_texts(changed)


def test_stored_sentence_vectors_spare_embedding_at_question_time(
    with_model: Settings, model_dir: Path
) -> None:
    """With the sentence vectors stored beside the passages', answering a question embeds no
    stored sentence (only the question, and a long sentence narrowed around its terms), and
    gives the answers that embedding each re-ranked sentence at question time gives."""
    kb = load_knowledge_base(with_model)
    stored = stored_vectors(kb, OnnxEncoder(model_dir), None)
    live, kept = CountingEncoder(model_dir), CountingEncoder(model_dir)
    lexical = Engine(kb, EngineConfig())
    at_question_time = Engine(kb, EngineConfig(), lexical.index, Semantics(live, stored.passages))
    from_store = Engine(
        kb,
        EngineConfig(),
        lexical.index,
        Semantics(kept, stored.passages, sentences=stored.sentences),
    )
    for question in QUESTIONS:
        expected, answer = at_question_time.answer(question), from_store.answer(question)
        assert (answer.answer, answer.abstained) == (expected.answer, expected.abstained)
        assert answer.citations == expected.citations
    stored_sentences = {s for p in kb.passages for s in sentence_texts(p.text)}
    assert [t for t in kept.texts if t in QUESTIONS] == QUESTIONS
    assert not stored_sentences & set(kept.texts)
    assert stored_sentences & set(live.texts)  # without them: embedded at question time
    assert len(kept.texts) < len(live.texts)


def test_the_dense_path_finds_a_passage_that_shares_no_word_with_the_question(
    knowledge_dir: Path, model_dir: Path, with_model: Settings
) -> None:
    """BM25 alone cannot rank a passage without the question's words; fused with the nearest
    passages by cosine, the passage is among the candidates."""
    (knowledge_dir / "volcanoes.md").write_text(
        "Volcanoes\n\nMagma rising through the crust erupts as lava, ash and gas.\n\n"
        "Mount Etna in Sicily is among the most active volcanoes on Earth.\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base(with_model)
    encoder = OnnxEncoder(model_dir)
    semantics = Semantics(encoder, passage_vectors(kb, encoder, None))
    base = EngineConfig()
    tuning = base.tuning.model_copy(
        update={"semantic": base.tuning.semantic.model_copy(update={"dense_weight": 1.0})}
    )
    engine = Engine(kb, EngineConfig(tuning=tuning), semantics=semantics)
    question = "Which peak keeps spewing molten rock in Italy?"
    vector = semantics.vectors([question])[0]
    terms = analyze(question, names=False)
    lexical = [engine.kb.passages[i].text for i, _ in engine._ranked(terms, [], 3)]
    dense = semantics.passage_vectors
    fused = [engine.kb.passages[i].text for i, _ in engine._ranked(terms, [], 3, vector, dense)]
    assert not any("Etna" in t for t in lexical)
    assert any("Etna" in t for t in fused)


VOLCANOES = (
    "Volcanoes\n\nMagma rising through the crust erupts as lava, ash and gas.\n\n"
    "Mount Etna in Sicily is among the most active volcanoes on Earth.\n"
)


def test_search_finds_a_passage_sharing_no_word_with_the_query_once_vectors_are_ready(
    knowledge_dir: Path, model_dir: Path, with_model: Settings
) -> None:
    """`search` is lexical while the passage vectors are pending; once they are published it
    fuses the nearest passages by meaning (tuning.json's `semantic.search`), so a passage
    without any of the query's words is listed, with its BM25 score (0) as its score, and
    the passages BM25 also found keep their BM25 scores."""
    (knowledge_dir / "volcanoes.md").write_text(VOLCANOES, encoding="utf-8")
    kb = load_knowledge_base(with_model)
    encoder = OnnxEncoder(model_dir)
    semantics = Semantics(encoder, pending=True)
    engine = Engine(kb, semantics=semantics)
    lexical = Engine(kb)
    query = "Which peak keeps spewing molten rock in Italy?"
    assert not set(analyze(query, names=False)) & set(analyze(VOLCANOES, names=False))
    k = 5

    def hits(found: list[SearchResult]) -> list[tuple[str, float]]:
        return [(h.passage.id, h.score) for h in found]

    assert hits(engine.search(query, k)) == hits(lexical.search(query, k))
    assert not any("Etna" in h.passage.text for h in engine.search(query, k))

    semantics.publish(passage_vectors(kb, encoder, None))
    found = engine.search(query, k)
    etna = [h for h in found if "Etna" in h.passage.text]
    assert len(found) == k and len(etna) == 1 and etna[0].score == 0.0
    bm25 = {h.passage.id: h.score for h in lexical.search(query, len(kb.passages))}
    assert all(h.score == bm25.get(h.passage.id, 0.0) for h in found)


def test_search_with_the_model_off_is_lexical(settings: Settings, knowledge_dir: Path) -> None:
    """BOT_EMBEDDING_MODEL=off: no semantics, and every query ranks exactly as the lexical
    engine does (same passages, order and BM25 scores)."""
    (knowledge_dir / "volcanoes.md").write_text(VOLCANOES, encoding="utf-8")
    off = settings.model_copy(update={"embedding_model": "off"})
    engine = build_engine(load_knowledge_base(off), off, use_cache=False)
    assert engine.semantics is None
    lexical = Engine(load_knowledge_base(off))
    for query in [*QUESTIONS, "Which peak keeps spewing molten rock in Italy?", "volcano lava"]:
        expected = [(h.passage.id, h.score) for h in lexical.search(query, 5)]
        assert [(h.passage.id, h.score) for h in engine.search(query, 5)] == expected


def test_answers_with_the_model_are_deterministic(with_model: Settings) -> None:
    """Two engines built apart give the same answers, citations and scores."""
    first = build_engine(load_knowledge_base(with_model), with_model, use_cache=False)
    second = build_engine(load_knowledge_base(with_model), with_model, use_cache=False)
    assert first.semantics is not None and second.semantics is not None
    for question in QUESTIONS:
        assert first.answer(question) == second.answer(question)


def test_past_the_size_limit_the_dense_path_is_skipped_and_said(with_model: Settings) -> None:
    """More passages than BOT_DENSE_MAX_PASSAGES: no passage is embedded, the model still
    re-ranks, and the status says why the dense path is off."""
    limited = with_model.model_copy(update={"dense_max_passages": 3})
    engine = build_engine(load_knowledge_base(limited), limited)
    assert engine.semantics is not None and engine.semantics.passage_vectors is None
    assert "BOT_DENSE_MAX_PASSAGES=3" in dense_notice(engine, limited)
    assert not engine.answer(QUESTIONS[0]).abstained


@pytest.mark.parametrize("value", ["off", "missing"])
def test_without_a_model_the_engine_answers_lexically(
    settings: Settings, tmp_path: Path, value: str
) -> None:
    """`off`, or a folder with no model: no semantics, the same answers as lexical BM25, and a
    status line (with the install command when the model is missing)."""
    setting = value if value == "off" else str(tmp_path / "no-model")
    chosen = settings.model_copy(update={"embedding_model": setting})
    engine = build_engine(load_knowledge_base(chosen), chosen, use_cache=False)
    assert engine.semantics is None
    lexical = Engine(load_knowledge_base(chosen))
    for question in QUESTIONS:
        assert engine.answer(question).answer == lexical.answer(question).answer
    notice = dense_notice(engine, chosen)
    assert ("lexical only" in notice) if value == "off" else (INSTALL_COMMAND in notice)


def test_why_this_answer_shows_each_passages_similarity(with_model: Settings) -> None:
    """With passage vectors, every evidence passage carries its cosine with the question."""
    engine = build_engine(load_knowledge_base(with_model), with_model, use_cache=False)
    answer = engine.answer(QUESTIONS[1])
    assert answer.evidence
    for evidence in answer.evidence:
        assert evidence.similarity is not None and -1.0 <= evidence.similarity <= 1.0
    assert max(e.similarity or 0.0 for e in answer.evidence) > 0.3


class GatedLoad(LazyEncoder):
    """The real background load, held until the test opens `gate`."""

    def __init__(self, folder: Path, gate: threading.Event) -> None:
        self.gate = gate
        super().__init__(folder)

    def _load(self) -> None:
        assert self.gate.wait(300), "the test never opened the gate"
        super()._load()


def test_while_the_model_loads_answers_are_lexical_then_the_models(
    with_model: Settings, model_dir: Path
) -> None:
    """An engine whose model is still loading in the background answers and searches
    exactly as the lexical engine does and says it is loading; once loaded, it answers
    exactly as an engine built with the model loaded."""
    kb = load_knowledge_base(with_model)
    stored = stored_vectors(kb, OnnxEncoder(model_dir), None)
    gate = threading.Event()
    lazy = GatedLoad(model_dir, gate)
    lexical = Engine(kb, EngineConfig())

    def with_encoder(encoder: Encoder) -> Engine:
        semantics = Semantics(encoder, stored.passages, sentences=stored.sentences)
        return Engine(kb, EngineConfig(), lexical.index, semantics)

    engine, loaded = with_encoder(lazy), with_encoder(OnnxEncoder(model_dir))
    assert not lazy.ready and "loading" in lazy.notice
    for question in QUESTIONS:
        assert engine.answer(question) == lexical.answer(question)
        assert engine.search(question) == lexical.search(question)  # waits for nothing
    gate.set()
    assert lazy.wait(300) and lazy.notice == f"embedding model {lazy.name}"
    for question in QUESTIONS:
        assert engine.answer(question) == loaded.answer(question)
    assert any(e.similarity is not None for e in engine.answer(QUESTIONS[0]).evidence)
