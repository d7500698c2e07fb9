"""The persisted index: built once, reused by content hash, rebuilt when stale or damaged."""

from __future__ import annotations

import logging
import os
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

import bot.core.articles.loader
import bot.core.engine
import bot.knowledge.factory
from bot.core.retrieval.index import BM25Index
from bot.core.text.analysis import analyze
from bot.knowledge.factory import load_knowledge_base
from bot.settings import Settings
from tests.knowledge.conftest import QUESTIONS, answers, cache_files, engine_of


def _forbid_tokenising(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any re-tokenising of the corpus, or any index build, fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the corpus was tokenised or indexed again")

    monkeypatch.setattr(bot.core.engine, "passage_terms", refuse)
    monkeypatch.setattr(bot.core.engine, "encode_passages", refuse)
    monkeypatch.setattr(BM25Index, "__init__", refuse)


def test_first_build_persists_one_index_named_by_the_content_hash(settings: Settings) -> None:
    """Building writes exactly one cache file, named after the engine's version."""
    engine = engine_of(settings)
    assert [p.name for p in cache_files(settings)] == [f"{engine.version}.npz"]


def test_a_build_leaves_no_partial_files_and_prunes_only_stale_ones(settings: Settings) -> None:
    """Temporary index files are removed; one left by a killed build an hour ago is pruned,
    while one another process may still be writing is left alone."""
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    stale = settings.cache_dir / "old.npz.123-abc.partial"
    in_progress = settings.cache_dir / "new.npz.456-def.partial"
    for path in (stale, in_progress):
        path.write_bytes(b"half an index")
    hour_ago = time.time() - 2 * 3600
    os.utime(stale, (hour_ago, hour_ago))
    engine_of(settings)
    assert not stale.exists()
    assert in_progress.exists()
    assert sorted(p.name for p in settings.cache_dir.glob("*.partial")) == [in_progress.name]


def test_cache_hit_gives_identical_answers_without_tokenising(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second start loads the persisted index: same scores and answers, no tokenising."""
    built = engine_of(settings)
    expected = answers(built)
    _forbid_tokenising(monkeypatch)
    loaded = engine_of(settings)
    assert loaded.version == built.version
    assert answers(loaded) == expected
    for question in QUESTIONS:
        terms = analyze(question)
        np.testing.assert_array_equal(loaded.index.get_scores(terms), built.index.get_scores(terms))


def test_a_changed_file_triggers_a_rebuild(settings: Settings, knowledge_dir: Path) -> None:
    """Editing an article changes the content hash: a new index is built and replaces the old."""
    before = engine_of(settings)
    article = next(knowledge_dir.glob("*.txt"))
    with article.open("a", encoding="utf-8") as file:
        file.write("\n\nThe zanzibarian ferry schedule changed on Tuesday.\n")
    after = engine_of(settings)
    assert after.version != before.version
    assert after.index.doc_freq("zanzibarian") == 1
    assert [p.name for p in cache_files(settings)] == [f"{after.version}.npz"]
    assert after.search("zanzibarian ferry")[0].passage.text.startswith("The zanzibarian")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"not an index"), id="garbage"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:300]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(b""), id="empty"),
    ],
)
def test_a_damaged_cache_file_is_rebuilt_not_trusted(
    settings: Settings, damage, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable cache is logged, ignored, rebuilt and rewritten; answers are unchanged."""
    built = engine_of(settings)
    expected = answers(built)
    (cache,) = cache_files(settings)
    damage(cache)
    with caplog.at_level(logging.WARNING):
        rebuilt = engine_of(settings)
    assert "rebuilding" in caplog.text
    assert answers(rebuilt) == expected
    BM25Index.load(cache)  # rewritten whole


def test_a_cache_with_postings_out_of_range_is_refused(settings: Settings) -> None:
    """A well-formed file whose arrays point outside the corpus is not used for answers."""
    built = engine_of(settings)
    (cache,) = cache_files(settings)
    with np.load(cache) as stored:
        arrays = dict(stored)
    arrays["indices"] = arrays["indices"].copy()
    arrays["indices"][0] = built.passage_count + 5
    with cache.open("wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(ValueError, match="damaged index file"):
        BM25Index.load(cache)
    rebuilt = engine_of(settings)
    assert answers(rebuilt) == answers(built)


def test_a_cache_for_another_corpus_under_the_same_name_is_rebuilt(settings: Settings) -> None:
    """A file whose passage count disagrees with the knowledge base is not trusted."""
    built = engine_of(settings)
    (cache,) = cache_files(settings)
    BM25Index([["other"], ["corpus"]]).save(cache)
    rebuilt = engine_of(settings)
    assert rebuilt.index.size == built.passage_count
    assert BM25Index.load(cache).size == built.passage_count


def test_an_unwritable_cache_folder_still_serves(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """If the index cannot be persisted, the engine is built anyway (with a warning)."""
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache folder should be")
    settings = settings.model_copy(update={"index_cache_dir": blocker / "index"})
    with caplog.at_level(logging.WARNING):
        engine = engine_of(settings)
    assert engine.passage_count > 0
    assert "could not persist" in caplog.text


def test_body_doc_freq_from_the_index_counts_passage_texts(settings: Settings) -> None:
    """The body frequencies stored with the index are the passages whose own text has a term."""
    engine = engine_of(settings)
    bodies = [set(analyze(p.text)) for p in engine.kb.passages]
    titles = {t for a in engine.kb.articles for t in analyze(a.title)}
    assert titles, "the bundled article has a title"
    for term in [*engine.index._vocabulary, "zanzibarian"]:
        assert engine.body_doc_freq(term) == sum(term in body for body in bodies)


def test_a_replaced_engine_is_freed_although_the_collector_froze_it(settings: Settings) -> None:
    """Loading freezes the collector's view (gc.freeze); an engine nobody uses any more must
    still be freed, so repeated reloads do not keep every old knowledge base in memory."""
    engine = engine_of(settings)
    engine.answer(QUESTIONS[0])
    alive = weakref.ref(engine)
    load_knowledge_base(settings)  # a reload's load freezes whatever is alive, this engine too
    del engine
    assert alive() is None
