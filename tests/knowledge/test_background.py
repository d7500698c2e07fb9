"""Passage vectors computed in the background after each build: the service serves at once
(lexically) and switches the dense path on when they are ready, reports progress, lets a
reload supersede the job, stops it on close, and reuses the vectors after a restart.

The background job gets the real model behind a gate the test opens, so "before the vectors
are ready" is a state the test holds, not a race it hopes to win."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

import bot.knowledge.factory
from bot.core.retrieval.dense import Encoder, passage_text
from bot.embedding.encoder import OnnxEncoder
from bot.knowledge.background import CHUNK
from bot.knowledge.factory import load_knowledge_base
from bot.knowledge.vectors import _key, passage_vectors, plan_vectors, save_vectors
from bot.service import QAService, VectorProgress
from bot.settings import Settings

# Shares no word with its passage ("Mount Etna in Sicily ..."): only the dense path finds it.
REWORDED = "Which peak keeps spewing molten rock in Italy?"
WAIT_S = 300.0  # generous: the cores are shared; nothing here is a timing assertion


class GatedEncoder:
    """The real encoder, embedding only once `gate` is open; it records what it embedded."""

    def __init__(self, folder: Path) -> None:
        self._encoder = OnnxEncoder(folder)
        self.name = self._encoder.name
        self.dimension = self._encoder.dimension
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        self.texts.extend(texts)
        return self._encoder.encode(texts)


@pytest.fixture
def knowledge(knowledge_dir: Path) -> Path:
    """The bundled article, one about volcanoes, and one long enough for several job steps."""
    (knowledge_dir / "volcanoes.md").write_text(
        "Volcanoes\n\nMagma rising through the crust erupts as lava, ash and gas.\n\n"
        "Mount Etna in Sicily is among the most active volcanoes on Earth.\n",
        encoding="utf-8",
    )
    rivers = [f"The river number {n} flows {n * 7} kilometres to the sea." for n in range(40)]
    (knowledge_dir / "rivers.md").write_text("Rivers\n\n" + "\n\n".join(rivers) + "\n", "utf-8")
    return knowledge_dir


@pytest.fixture
def with_model(settings: Settings, model_dir: Path, knowledge: Path) -> Settings:
    return settings.model_copy(update={"embedding_model": str(model_dir)})


@pytest.fixture
def gated(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> GatedEncoder:
    encoder = GatedEncoder(model_dir)

    def background_encoder(folder: Path, quantized: bool, threads: int) -> Encoder:
        return encoder

    monkeypatch.setattr(bot.knowledge.factory, "_background_encoder", background_encoder)
    return encoder


@pytest.fixture
async def service(with_model: Settings, gated: GatedEncoder) -> AsyncIterator[QAService]:
    async with await QAService.start(with_model) as svc:
        yield svc


def volcano_cited(answer_evidence: list[str], service: QAService) -> bool:
    return any(
        "Etna" in (found[0].text if (found := service.engine.passage(pid)) else "")
        for pid in answer_evidence
    )


def passages_embedded(texts: list[str], settings: Settings) -> int:
    """How many of the embedded texts were passages (the rest are their sentences)."""
    kb = load_knowledge_base(settings)
    titles = {a.id: a.title for a in kb.articles}
    wanted = {passage_text(titles[p.article_id], p.text) for p in kb.passages}
    return sum(t in wanted for t in texts)


def vector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "passage-vectors"]


async def test_start_serves_lexically_until_the_vectors_are_ready_then_dense(
    service: QAService, gated: GatedEncoder
) -> None:
    """Start returns with no vector computed; a question is answered (and stored) from BM25,
    its candidate sentences re-ranked by the model; once the job is done, with no reload,
    the same question reaches the passage only the dense path can find."""
    progress = service.vectors
    total = service.engine.passage_count
    assert progress is not None and progress.done == 0 and progress.total == total
    assert service.engine.semantics is not None
    assert service.engine.semantics.passage_vectors is None

    before = await service.ask(REWORDED)
    assert before.answer_id is not None
    assert (await service.answer(before.answer_id)).answer == before.answer
    assert not volcano_cited([e.passage_id for e in before.evidence], service)
    lexical = await service.ask("What missile system could Turkey buy?")
    assert not lexical.abstained and lexical.evidence
    assert all(e.similarity is None for e in lexical.evidence)  # no passage vectors yet

    gated.gate.set()
    done = await service.wait_for_vectors()
    assert done == VectorProgress(total, total, "ready", split=total)
    assert service.engine.semantics.passage_vectors is not None
    assert await service.wait_for_model()  # loaded in the background meanwhile
    after = await service.ask(REWORDED)
    assert volcano_cited([e.passage_id for e in after.evidence], service)
    assert all(e.similarity is not None for e in after.evidence)


class SentencesGatedEncoder(GatedEncoder):
    """Embeds passages at once; sentences only once `gate` is open."""

    def __init__(self, folder: Path, passages: set[str]) -> None:
        super().__init__(folder)
        self.passages = passages

    def encode(self, texts: list[str]) -> np.ndarray:
        if set(texts) <= self.passages:
            return self._encoder.encode(texts)
        return super().encode(texts)


async def test_the_dense_path_is_on_before_the_sentences_are_embedded(
    with_model: Settings, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passages are embedded first and published: the dense path answers while their
    sentences (most of the work) are still being embedded, and the status says so."""
    kb = load_knowledge_base(with_model)
    titles = {a.id: a.title for a in kb.articles}
    encoder = SentencesGatedEncoder(
        model_dir, {passage_text(titles[p.article_id], p.text) for p in kb.passages}
    )
    monkeypatch.setattr(
        bot.knowledge.factory, "_background_encoder", lambda folder, quantized, threads: encoder
    )
    async with await QAService.start(with_model) as service:
        assert service.engine.semantics is not None
        for _ in range(int(WAIT_S * 10)):
            if service.engine.semantics.passage_vectors is not None:
                break
            await asyncio.sleep(0.1)
        assert service.engine.semantics.passage_vectors is not None
        assert encoder.entered.wait(WAIT_S)  # now blocked on the first sentences
        total = service.engine.passage_count
        status = (await service.status()).embedding
        assert f"vectors: {total:,} / {total:,} passages (100 %), their sentences 0 %" in status
        assert "dense retrieval on" in status
        assert await service.wait_for_model()
        dense = await service.ask(REWORDED)
        assert volcano_cited([e.passage_id for e in dense.evidence], service)

        encoder.gate.set()
        done = await service.wait_for_vectors()
        assert done == VectorProgress(total, total, "ready", split=total)
        stored = service.engine.semantics.sentences
        assert stored is not None and len(stored) >= total


async def test_progress_is_in_the_status_and_in_index(
    service: QAService, gated: GatedEncoder, with_model: Settings
) -> None:
    """`/kb status` says how many passages have vectors, while embedding and when done;
    `index` waits for them, telling its listener how far they are."""
    total = service.engine.passage_count
    waiting = (await service.status()).embedding
    assert f"vectors: 0 / {total:,} passages (0 %)" in waiting
    assert "lexical until then" in waiting
    gated.gate.set()
    await service.wait_for_vectors()
    assert f"vectors: {total:,} / {total:,} passages (100 %)" in (await service.status()).embedding

    (with_model.knowledge_dir / "rivers.md").unlink()  # index has new passages to embed
    (with_model.knowledge_dir / "lakes.md").write_text(
        "Lakes\n\n" + "\n\n".join(f"Lake {n} is {n + 3} metres deep." for n in range(30)),
        encoding="utf-8",
    )
    seen: list[VectorProgress] = []
    report = await QAService.index(with_model, on_vectors=seen.append)
    assert seen and seen[-1].state == "ready" and seen[-1].done == seen[-1].total
    assert seen[-1].total == report.passages
    assert f"vectors: {report.passages:,} / {report.passages:,} passages (100 %)" in (
        report.embedding
    )


async def test_a_reload_supersedes_the_job_and_nothing_is_embedded_twice(
    service: QAService, gated: GatedEncoder, with_model: Settings
) -> None:
    """A reload while vectors are computed cancels the job (which saves what it had); the new
    engine's job embeds only the rest, and its vectors are the model's for its passages."""
    assert gated.entered.wait(WAIT_S)  # the first job is inside its first step
    first = service.engine
    with (with_model.knowledge_dir / "volcanoes.md").open("a", encoding="utf-8") as f:
        f.write("\nStromboli has erupted almost continuously for two thousand years.\n")
    report = await service.reload("admin")
    assert report.ok and service.engine is not first
    gated.gate.set()
    done = await service.wait_for_vectors()
    assert done is not None and done.state == "ready"
    assert first.semantics is not None and first.semantics.passage_vectors is None
    kb = service.engine.kb
    # The first step's CHUNK were saved and reused; the edited passage is new.
    assert passages_embedded(gated.texts, with_model) == len(kb.passages)
    assert len(kb.passages) > CHUNK
    semantics = service.engine.semantics
    assert semantics is not None and semantics.passage_vectors is not None
    expected = passage_vectors(kb, OnnxEncoder(Path(with_model.embedding_model)), None)
    cosines = np.sum(
        semantics.passage_vectors.astype(np.float32) * expected.astype(np.float32), axis=1
    )
    assert cosines.min() > 0.99


async def test_close_stops_the_job_and_leaves_no_thread(
    with_model: Settings, gated: GatedEncoder
) -> None:
    """Closing the service while vectors are computed stops the job after its current step;
    its thread ends, and the work done is kept for the next start."""
    service = await QAService.start(with_model)
    total = service.engine.passage_count
    assert gated.entered.wait(WAIT_S)
    closing = asyncio.create_task(service.close())
    for _ in range(int(WAIT_S * 10)):  # until close has asked the job to stop
        if (progress := service.vectors) is not None and progress.state == "cancelling":
            break
        await asyncio.sleep(0.1)
    gated.gate.set()  # the step in hand finishes; the job stops before the next
    await closing
    assert vector_threads() == []
    assert passages_embedded(gated.texts, with_model) == CHUNK < total

    gated.texts.clear()
    async with await QAService.start(with_model) as again:
        done = await again.wait_for_vectors()
    assert done is not None and done.state == "ready"
    assert passages_embedded(gated.texts, with_model) == total - CHUNK


async def test_a_restart_reuses_every_vector_and_serves_dense_at_once(
    with_model: Settings, gated: GatedEncoder
) -> None:
    """Vectors saved beside the index: the next start embeds nothing, and its first question
    already uses the dense path (no job runs)."""
    gated.gate.set()
    async with await QAService.start(with_model) as first:
        await first.wait_for_vectors()
    embedded = len(gated.texts)
    assert passages_embedded(gated.texts, with_model) == len(
        load_knowledge_base(with_model).passages
    )
    gated.gate.clear()  # any embedding now would hang the test: there must be none
    async with await QAService.start(with_model) as again:
        assert again.vectors is None
        semantics = again.engine.semantics
        assert semantics is not None and semantics.passage_vectors is not None
        assert await again.wait_for_model()
        answer = await again.ask(REWORDED)
        assert volcano_cited([e.passage_id for e in answer.evidence], again)
    assert len(gated.texts) == embedded


def test_a_saved_vector_is_found_again_whatever_its_key_ends_with(settings: Settings) -> None:
    """A passage whose content key ends in a zero byte (1 in 256: numpy's fixed-width bytes
    drop it on reading) is read back from the cache like every other."""
    title = "Zeros"
    text = next(
        t
        for n in range(10_000)
        if _key(passage_text(title, t := f"Paragraph number {n} of the zeros.")).endswith(b"\0")
    )
    (settings.knowledge_dir / "zeros.md").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    kb = load_knowledge_base(settings)
    path = settings.cache_dir / "vectors" / "test.npz"
    plan = plan_vectors(kb, 4, path)
    assert len(plan.missing) == len(kb.passages)
    for row in plan.missing:
        plan.fill(row, np.full(4, 0.5), np.full((1, 4), 0.25), [plan.bodies[row]])
    save_vectors(plan)
    again = plan_vectors(kb, 4, path)
    assert again.missing == [] and not again.stale
    np.testing.assert_array_equal(again.vectors, plan.vectors)


def test_passages_saved_before_their_sentences_are_read_back_as_such(settings: Settings) -> None:
    """A cache saved between the two steps holds the passage vectors, and says which
    passages' sentences are still to embed: only those are embedded next time."""
    kb = load_knowledge_base(settings)
    path = settings.cache_dir / "vectors" / "test.npz"
    plan = plan_vectors(kb, 4, path)
    for row in plan.missing:
        plan.fill_passage(row, np.full(4, 0.5))
    plan.fill_sentences(0, np.full((1, 4), 0.25), [plan.bodies[0]])
    save_vectors(plan)
    again = plan_vectors(kb, 4, path)
    assert again.missing == [] and not again.stale
    assert again.unsplit == list(range(1, len(kb.passages)))
    assert again.sentences[0] is not None
    np.testing.assert_array_equal(again.vectors, plan.vectors)
