"""Passages → term ids: the parallel analysis gives exactly the index of the serial one."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bot.core.retrieval.encode
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, passage_head_lengths, passage_terms
from bot.core.retrieval.build import encode_token_lists
from bot.core.retrieval.encode import encode_passages
from bot.core.retrieval.index import BM25Index

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE)


def _inputs(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    titles = {a.id: a.title for a in kb.articles}
    return [titles[p.article_id] for p in kb.passages], [p.text for p in kb.passages]


def _decoded(titles: list[str], texts: list[str], **options: Any) -> list[list[str]]:
    """The term lists an encoding stands for (ids read back through its vocabulary)."""
    encoded = encode_passages(titles, texts, **options)
    chunks = list(encoded.chunks)
    terms = np.array(list(encoded.terms), dtype=object)
    out: list[list[str]] = []
    for ids, lengths in chunks:
        ends = np.cumsum(lengths)
        out += [terms[ids[end - n : end]].tolist() for end, n in zip(ends, lengths, strict=True)]
    return out


def _same_index(a: BM25Index, b: BM25Index) -> None:
    assert list(a._vocabulary) == list(b._vocabulary)  # same term ids, in the same order
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(a._matrix, name), getattr(b._matrix, name))
    np.testing.assert_array_equal(a._idf, b._idf)
    np.testing.assert_array_equal(a._doc_len, b._doc_len)
    assert a._head_only is not None and b._head_only is not None
    np.testing.assert_array_equal(a._head_only, b._head_only)


def _index(encoded: Any, kb: KnowledgeBase) -> BM25Index:
    return BM25Index(encoded, idf_mode="okapi", head_lengths=passage_head_lengths(kb))


def test_serial_encoding_is_passage_terms(kb: KnowledgeBase) -> None:
    """Each passage's ids read back as `passage_terms`: the title's terms, then the text's."""
    articles = {a.id: a for a in kb.articles}
    expected = [passage_terms(articles[p.article_id], p) for p in kb.passages]
    assert _decoded(*_inputs(kb), workers=1) == expected


def test_parallel_build_equals_serial_build(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes, many small tasks: the very same index as one process."""
    monkeypatch.setattr(bot.core.retrieval.encode, "_TASK_PASSAGES", 3)
    titles, texts = _inputs(kb)
    # Chunks of 50 tokens: several chunks, the vocabulary grows between them.
    serial = _index(encode_passages(titles, texts, workers=1, chunk_tokens=50), kb)
    parallel = _index(
        encode_passages(titles, texts, workers=2, min_parallel=0, chunk_tokens=50), kb
    )
    _same_index(parallel, serial)
    articles = {a.id: a for a in kb.articles}
    lists = [passage_terms(articles[p.article_id], p) for p in kb.passages]
    # and as the index of the token lists, in one chunk or many
    _same_index(parallel, _index(lists, kb))
    _same_index(parallel, _index(encode_token_lists(lists, chunk_tokens=50), kb))


def test_engine_builds_in_parallel_the_same_index(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the size threshold the engine analyses on workers, with an identical index."""
    serial = Engine(kb)
    monkeypatch.setattr(bot.core.retrieval.encode, "MIN_PARALLEL_PASSAGES", 0)
    monkeypatch.setattr(bot.core.retrieval.encode, "_TASK_PASSAGES", 4)
    monkeypatch.setattr(bot.core.retrieval.encode, "default_workers", lambda: 2)
    calls: list[int] = []
    real = bot.core.retrieval.encode._pooled_results

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(bot.core.retrieval.encode, "_pooled_results", counting)
    parallel = Engine(kb)
    assert calls  # the workers were used
    _same_index(parallel.index, serial.index)


class _NoProcesses:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise OSError("no processes here")


class _DyingPool:
    """A pool whose workers die after `healthy` tasks (as a killed worker would)."""

    def __init__(self, healthy: int) -> None:
        self.healthy = healthy

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if self.healthy > 0:
            self.healthy -= 1
            future.set_result(fn(*args))
        else:
            future.set_exception(RuntimeError("worker died"))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class _RefusingPool(_DyingPool):
    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        raise RuntimeError("cannot schedule new futures after shutdown")


@pytest.mark.parametrize(
    "pool", [_NoProcesses, lambda *a, **k: _DyingPool(3), lambda *a, **k: _RefusingPool(0)]
)
def test_workers_that_cannot_start_or_die_fall_back_to_one_process(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, pool: Any
) -> None:
    """No processes, a worker dying mid-build, a pool refusing work: same terms, with a warning."""
    monkeypatch.setattr(bot.core.retrieval.encode, "_TASK_PASSAGES", 2)
    monkeypatch.setattr(bot.core.retrieval.encode, "ProcessPoolExecutor", pool)
    titles, texts = _inputs(kb)
    expected = _decoded(titles, texts, workers=1)
    with caplog.at_level(logging.WARNING, logger="bot.core.retrieval.encode"):
        assert _decoded(titles, texts, workers=2, min_parallel=0) == expected
    assert "one process" in caplog.text


def test_small_knowledge_bases_are_analysed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold no pool is started (its start-up would cost more than it saves)."""
    monkeypatch.setattr(bot.core.retrieval.encode, "ProcessPoolExecutor", _NoProcesses)
    encoded = encode_passages(["Tea"] * 3, ["alpha beta", "beta", ""], workers=2)
    ids, lengths = next(iter(encoded.chunks))
    assert list(encoded.terms) == ["tea", "alpha", "beta"]
    assert ids.tolist() == [0, 1, 2, 0, 2, 0] and lengths.tolist() == [3, 2, 1]


def test_titles_and_texts_must_pair_up() -> None:
    with pytest.raises(ValueError, match="one title per passage"):
        encode_passages(["a"], ["x", "y"])
