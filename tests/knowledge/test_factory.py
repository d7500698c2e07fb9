"""The persisted index: built once, reused by content hash, rebuilt when stale or damaged."""

from __future__ import annotations

import logging
import os
import shutil
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

import bot.core.articles.loader
import bot.core.engine
import bot.knowledge.factory
from bot.core.articles.columns import StoredPassages
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import Article
from bot.core.engine import Engine
from bot.core.retrieval.index import BM25Index
from bot.core.text.analysis import analyze
from bot.knowledge.factory import build_engine, load_knowledge_base
from bot.settings import Settings

QUESTIONS = [
    "Who is Armenia's defence minister?",
    "What missile system could Turkey buy?",
    "What is the capital of France?",
]


@pytest.fixture
def settings(knowledge_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        knowledge_dir=knowledge_dir,
        db_path=tmp_path / "data" / "bot.sqlite3",
        index_cache_dir=tmp_path / "index",
        _env_file=None,
    )


def _engine(settings: Settings) -> Engine:
    return build_engine(load_knowledge_base(settings), settings)


def _cache_files(settings: Settings) -> list[Path]:
    return sorted(settings.cache_dir.glob("*.npz"))


def _forbid_tokenising(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any re-tokenising of the corpus, or any index build, fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the corpus was tokenised or indexed again")

    monkeypatch.setattr(bot.core.engine, "passage_terms", refuse)
    monkeypatch.setattr(bot.core.engine, "encode_passages", refuse)
    monkeypatch.setattr(BM25Index, "__init__", refuse)


def _answers(engine: Engine) -> list[tuple[str, bool, list[tuple[str, str, float]]]]:
    out = []
    for question in QUESTIONS:
        answer = engine.answer(question)
        out.append(
            (
                answer.answer,
                answer.abstained,
                [(c.passage_id, c.quote, c.score) for c in answer.citations],
            )
        )
    return out


def test_first_build_persists_one_index_named_by_the_content_hash(settings: Settings) -> None:
    """Building writes exactly one cache file, named after the engine's version."""
    engine = _engine(settings)
    assert [p.name for p in _cache_files(settings)] == [f"{engine.version}.npz"]


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
    _engine(settings)
    assert not stale.exists()
    assert in_progress.exists()
    assert sorted(p.name for p in settings.cache_dir.glob("*.partial")) == [in_progress.name]


def test_cache_hit_gives_identical_answers_without_tokenising(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second start loads the persisted index: same scores and answers, no tokenising."""
    built = _engine(settings)
    expected = _answers(built)
    _forbid_tokenising(monkeypatch)
    loaded = _engine(settings)
    assert loaded.version == built.version
    assert _answers(loaded) == expected
    for question in QUESTIONS:
        terms = analyze(question)
        np.testing.assert_array_equal(loaded.index.get_scores(terms), built.index.get_scores(terms))


def test_a_changed_file_triggers_a_rebuild(settings: Settings, knowledge_dir: Path) -> None:
    """Editing an article changes the content hash: a new index is built and replaces the old."""
    before = _engine(settings)
    article = next(knowledge_dir.glob("*.txt"))
    with article.open("a", encoding="utf-8") as file:
        file.write("\n\nThe zanzibarian ferry schedule changed on Tuesday.\n")
    after = _engine(settings)
    assert after.version != before.version
    assert after.index.doc_freq("zanzibarian") == 1
    assert [p.name for p in _cache_files(settings)] == [f"{after.version}.npz"]
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
    built = _engine(settings)
    expected = _answers(built)
    (cache,) = _cache_files(settings)
    damage(cache)
    with caplog.at_level(logging.WARNING):
        rebuilt = _engine(settings)
    assert "rebuilding" in caplog.text
    assert _answers(rebuilt) == expected
    BM25Index.load(cache)  # rewritten whole


def test_a_cache_with_postings_out_of_range_is_refused(settings: Settings) -> None:
    """A well-formed file whose arrays point outside the corpus is not used for answers."""
    built = _engine(settings)
    (cache,) = _cache_files(settings)
    with np.load(cache) as stored:
        arrays = dict(stored)
    arrays["indices"] = arrays["indices"].copy()
    arrays["indices"][0] = built.passage_count + 5
    with cache.open("wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(ValueError, match="damaged index file"):
        BM25Index.load(cache)
    rebuilt = _engine(settings)
    assert _answers(rebuilt) == _answers(built)


def test_a_cache_for_another_corpus_under_the_same_name_is_rebuilt(settings: Settings) -> None:
    """A file whose passage count disagrees with the knowledge base is not trusted."""
    built = _engine(settings)
    (cache,) = _cache_files(settings)
    BM25Index([["other"], ["corpus"]]).save(cache)
    rebuilt = _engine(settings)
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
        engine = _engine(settings)
    assert engine.passage_count > 0
    assert "could not persist" in caplog.text


# --- the parse cache: unchanged files are not parsed again --------------------------------


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the article ids that `parse_article` really parses."""
    parsed: list[str] = []
    real = bot.knowledge.factory.parse_article

    def counting(article_id: str, text: str) -> Article:
        parsed.append(article_id)
        return real(article_id, text)

    monkeypatch.setattr(bot.knowledge.factory, "parse_article", counting)
    return parsed


def test_unchanged_files_are_rebuilt_from_the_parse_cache_not_parsed(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second load parses nothing and gives an equal knowledge base (every field)."""
    first = load_knowledge_base(settings)
    parsed = _count_parses(monkeypatch)
    second = load_knowledge_base(settings)
    assert parsed == []
    assert second == first == load_knowledge(knowledge_dir)
    assert _answers(build_engine(second, settings)) == _answers(build_engine(first, settings))


def test_a_parsed_knowledge_base_comes_back_mapped_from_the_cache_it_wrote(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After parsing, the passages are views on the parse cache just written (the parsed
    ones are freed before indexing), equal to what was parsed; without a cache folder to
    write to, the parsed passages are kept."""
    (knowledge_dir / "extra.md").write_text("# Extra\n\nA first extra paragraph.\n")
    kb = load_knowledge_base(settings)
    assert kb == load_knowledge(knowledge_dir)
    assert all(isinstance(a.passages, StoredPassages) for a in kb.articles)
    assert [p.text for p in kb.passages] == [p.text for p in load_knowledge(knowledge_dir).passages]

    monkeypatch.setattr(bot.knowledge.factory, "_write_atomically", _refuse_writing)
    (knowledge_dir / "extra.md").write_text("# Extra\n\nThe paragraph was edited.\n")
    kept = load_knowledge_base(settings)
    assert kept == load_knowledge(knowledge_dir)
    edited = next(a for a in kept.articles if a.id == "extra.md")
    assert not isinstance(edited.passages, StoredPassages)


def _refuse_writing(path: Path, write: object) -> None:
    raise PermissionError(13, "Permission denied")


def test_changed_added_and_removed_files_are_detected(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only changed and new files are parsed; a removed file is gone; a touched one is reused."""
    (knowledge_dir / "extra.md").write_text("# Extra\n\nA first extra paragraph.\n")
    (knowledge_dir / "gone.md").write_text("# Gone\n\nThis article will be deleted.\n")
    load_knowledge_base(settings)
    (knowledge_dir / "extra.md").write_text("# Extra\n\nThe extra paragraph was edited.\n")
    (knowledge_dir / "gone.md").unlink()
    (knowledge_dir / "new.md").write_text("# New\n\nA brand new article.\n")
    touched = next(knowledge_dir.glob("*.txt"))
    os.utime(touched, ns=(1, 1))  # same content, another mtime: still the same article
    parsed = _count_parses(monkeypatch)
    kb = load_knowledge_base(settings)
    assert sorted(parsed) == ["extra.md", "new.md"]
    assert kb == load_knowledge(knowledge_dir)
    assert "gone.md" not in {a.id for a in kb.articles}
    parsed.clear()
    assert load_knowledge_base(settings) == kb and parsed == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b"not a cache"), id="garbage"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:200]), id="truncated"),
        pytest.param(
            lambda path: _rewrite(path, starts=lambda s: s + 10_000, ends=lambda e: e + 10_000),
            id="spans-outside",
        ),
        pytest.param(
            lambda path: _rewrite(path, starts=lambda s: s[::-1], ends=lambda e: e[::-1]),
            id="spans-reordered",
        ),
        pytest.param(lambda path: _rewrite(path, texts=lambda t: t[:-5]), id="texts-cut"),
        pytest.param(
            lambda path: _rewrite(path, text_ends=lambda t: t[::-1]), id="text-ends-reordered"
        ),
        pytest.param(lambda path: _rewrite(path, ids=lambda i: i.astype("S13")), id="ids-wider"),
        pytest.param(
            lambda path: _rewrite(path, meta=lambda m: np.array('[["title", 1]]')), id="bad-meta"
        ),
        pytest.param(lambda path: _rewrite(path, stats=lambda s: s[:, :3]), id="stats-cut"),
    ],
)
@pytest.mark.parametrize("settled", [False, True], ids=["files-read", "files-unread"])
def test_a_damaged_parse_cache_is_ignored(
    settings: Settings,
    knowledge_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage,
    settled: bool,
) -> None:
    """Whatever is wrong with the parse cache, the knowledge base equals a fresh parse,
    whether the files are read again (hashed) or trusted from their stat data."""
    if settled:
        _settle(monkeypatch)
    load_knowledge_base(settings)
    damage(settings.cache_dir / "articles.parsed")
    assert load_knowledge_base(settings) == load_knowledge(knowledge_dir)


def _rewrite(path: Path, **changes) -> None:
    with np.load(path) as stored:
        arrays = dict(stored)
    for name, change in changes.items():
        arrays[name] = change(arrays[name])
    with path.open("wb") as file:
        np.savez(file, **arrays)


def test_a_changed_parser_ignores_the_parse_cache(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is tied to the loader's code: another fingerprint means parsing everything."""
    load_knowledge_base(settings)
    monkeypatch.setattr(bot.knowledge.factory, "_parser_fingerprint", lambda: "another parser")
    parsed = _count_parses(monkeypatch)
    load_knowledge_base(settings)
    assert len(parsed) == len(list(knowledge_dir.glob("*.*")))


# --- the stat manifest: unchanged files are not even read ----------------------------------


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the files the loader really reads."""
    read: list[str] = []
    real = bot.core.articles.loader._read_text

    def counting(path: Path, max_bytes: int) -> str:
        read.append(path.name)
        return real(path, max_bytes)

    monkeypatch.setattr(bot.core.articles.loader, "_read_text", counting)
    return read


def _settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the stats of the next loads a minute from now, so the files just written are
    safely older than their recorded stats (outside git's racy window) without waiting."""
    monkeypatch.setattr(bot.knowledge.factory, "_now_ns", lambda: time.time_ns() + 60 * 10**9)


def _more_files(knowledge_dir: Path) -> None:
    (knowledge_dir / "extra.md").write_text("# Extra\n\nA first extra paragraph.\n\nAnother.\n")
    (knowledge_dir / "sub").mkdir()
    (knowledge_dir / "sub" / "näher.md").write_text("# Näher\n\nÜber die Brücke.\n\nZürich 🚲.\n")


def test_settled_unchanged_files_are_not_even_read(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files whose stat data is as recorded (and settled) come from the cache unread, with
    every passage equal to a fresh parse; the folder's files are all seen again."""
    _more_files(knowledge_dir)
    _settle(monkeypatch)
    first = load_knowledge_base(settings)
    read, parsed = _count_reads(monkeypatch), _count_parses(monkeypatch)
    second = load_knowledge_base(settings)
    assert read == [] and parsed == []
    assert all(isinstance(a.passages, StoredPassages) for a in second.articles)
    assert second == first == load_knowledge(knowledge_dir)
    assert list(second.passages) == list(load_knowledge(knowledge_dir).passages)


def test_files_changed_within_the_racy_window_are_read_again(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's racy-clean rule: a stat taken when its file had just changed proves nothing — a
    same-size edit in the same timestamp tick would keep it. Here the file system is made
    to keep mtime only (no ctime), the edit restores mtime: only the rule catches it."""
    monkeypatch.setattr(
        bot.knowledge.factory,
        "_stat_row",
        lambda i: (i.st_size, i.st_mtime_ns, 0, i.st_ino, i.st_dev),
    )
    _more_files(knowledge_dir)
    load_knowledge_base(settings)  # the files were just written: all inside the window
    extra = knowledge_dir / "extra.md"
    before = extra.stat()
    extra.write_text("# Extra\n\nA first EXTRA paragraph.\n\nAnother.\n")
    os.utime(extra, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert bot.knowledge.factory._stat_row(extra.stat()) == bot.knowledge.factory._stat_row(before)
    read, parsed = _count_reads(monkeypatch), _count_parses(monkeypatch)
    kb = load_knowledge_base(settings)
    # The two new files are hashed again (the bundled one kept its old mtime: settled).
    assert sorted(read) == ["extra.md", "näher.md"] and parsed == ["extra.md"]
    assert kb == load_knowledge(knowledge_dir)


def test_a_same_size_edit_keeping_the_mtime_is_detected_by_its_ctime(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Restoring the mtime after an edit (touch -d, rsync -t) cannot restore the ctime."""
    _more_files(knowledge_dir)
    _settle(monkeypatch)
    load_knowledge_base(settings)
    extra = knowledge_dir / "extra.md"
    before = extra.stat()
    time.sleep(0.01)  # a later ctime tick than the recorded one
    extra.write_text("# Extra\n\nA first EXTRA paragraph.\n\nAnother.\n")
    os.utime(extra, ns=(before.st_atime_ns, before.st_mtime_ns))
    read, parsed = _count_reads(monkeypatch), _count_parses(monkeypatch)
    kb = load_knowledge_base(settings)
    assert read == ["extra.md"] and parsed == ["extra.md"]
    assert kb == load_knowledge(knowledge_dir)


def test_a_file_replaced_by_a_copy_is_hashed_not_parsed(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another inode (a copy with the same times, a fresh checkout) means reading and
    hashing the file; the same content is still not parsed."""
    _more_files(knowledge_dir)
    _settle(monkeypatch)
    load_knowledge_base(settings)
    extra = knowledge_dir / "extra.md"
    shutil.copy2(extra, knowledge_dir / "copy.tmp")
    os.replace(knowledge_dir / "copy.tmp", extra)
    read, parsed = _count_reads(monkeypatch), _count_parses(monkeypatch)
    kb = load_knowledge_base(settings)
    assert read == ["extra.md"] and parsed == []
    assert kb == load_knowledge(knowledge_dir)
    read.clear()
    assert load_knowledge_base(settings) == kb and read == []  # recorded anew


def test_a_lowered_size_limit_refuses_a_cached_file(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size limit is a setting, not part of the cache: an unread file is still held to it."""
    _more_files(knowledge_dir)
    _settle(monkeypatch)
    load_knowledge_base(settings)
    smaller = settings.model_copy(update={"max_file_bytes": 1000})
    kb = load_knowledge_base(smaller)
    assert kb == load_knowledge(knowledge_dir, 1000)
    assert [p.path for p in kb.problems] == [
        "russia-says-turkey-could-sign-new-s-400-missile-contract-soon.txt"
    ]


def test_a_partly_changed_folder_round_trips_through_the_cache(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored and freshly parsed articles are written back together; every later load, read
    or not, equals a fresh parse, and so do the answers and the lookups by passage id."""
    _more_files(knowledge_dir)
    _settle(monkeypatch)
    load_knowledge_base(settings)
    (knowledge_dir / "extra.md").write_text("# Extra\n\nThe extra paragraph was edited.\n")
    (knowledge_dir / "new.md").write_text("# New\n\nA brand new article.\n")
    mixed = load_knowledge_base(settings)
    # Written back together, then all mapped from the cache just written.
    assert all(isinstance(a.passages, StoredPassages) for a in mixed.articles)
    read = _count_reads(monkeypatch)
    stored = load_knowledge_base(settings)
    assert read == []
    cold = load_knowledge(knowledge_dir)
    assert mixed == stored == cold
    engines = [build_engine(kb, settings) for kb in (mixed, stored, cold)]
    assert _answers(engines[0]) == _answers(engines[1]) == _answers(engines[2])
    articles = {a.id: a for a in cold.articles}
    for passage in cold.passages:
        found = [engine.passage(passage.id) for engine in engines]
        assert found[0] == found[1] == found[2] == (passage, articles[passage.article_id])
    assert all(engine.passage("0123456789ab") is None for engine in engines)


def test_body_doc_freq_from_the_index_counts_passage_texts(settings: Settings) -> None:
    """The body frequencies stored with the index are the passages whose own text has a term."""
    engine = _engine(settings)
    bodies = [set(analyze(p.text)) for p in engine.kb.passages]
    titles = {t for a in engine.kb.articles for t in analyze(a.title)}
    assert titles, "the bundled article has a title"
    for term in [*engine.index._vocabulary, "zanzibarian"]:
        assert engine.body_doc_freq(term) == sum(term in body for body in bodies)


def test_a_replaced_engine_is_freed_although_the_collector_froze_it(settings: Settings) -> None:
    """Loading freezes the collector's view (gc.freeze); an engine nobody uses any more must
    still be freed, so repeated reloads do not keep every old knowledge base in memory."""
    engine = _engine(settings)
    engine.answer(QUESTIONS[0])
    alive = weakref.ref(engine)
    load_knowledge_base(settings)  # a reload's load freezes whatever is alive, this engine too
    del engine
    assert alive() is None


def test_the_parse_cache_is_replaced_never_rewritten_in_place(
    settings: Settings, knowledge_dir: Path
) -> None:
    """Processes map the cache file they loaded: a new cache is a new file, renamed over
    the old one, which keeps its content; no temporary file is left behind."""
    load_knowledge_base(settings)
    cache = settings.cache_dir / "articles.parsed"
    before, inode = cache.read_bytes(), cache.stat().st_ino
    held = cache.open("rb")  # a process still serving from the old file
    (knowledge_dir / "new.md").write_text("# New\n\nA brand new article.\n")
    load_knowledge_base(settings)
    assert cache.stat().st_ino != inode and os.fstat(held.fileno()).st_ino == inode
    assert held.read() == before
    held.close()
    assert sorted(p.name for p in settings.cache_dir.iterdir()) == [
        "articles.parsed",
        *(p.name for p in _cache_files(settings)),
    ]
