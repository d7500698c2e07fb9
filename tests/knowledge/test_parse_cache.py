"""The parse cache: unchanged files are not parsed again, settled ones not even read, and a
damaged cache is ignored (and logged with its traceback)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import bot.core.articles.loader
import bot.knowledge.parse_cache
from bot.core.articles.columns import StoredPassages
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import Article
from bot.knowledge.factory import build_engine, load_knowledge_base
from bot.settings import Settings
from tests.knowledge.conftest import answers, cache_files

# --- the parse cache: unchanged files are not parsed again --------------------------------


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the article ids that `parse_article` really parses."""
    parsed: list[str] = []
    real = bot.knowledge.parse_cache.parse_article

    def counting(article_id: str, text: str) -> Article:
        parsed.append(article_id)
        return real(article_id, text)

    monkeypatch.setattr(bot.knowledge.parse_cache, "parse_article", counting)
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
    assert answers(build_engine(second, settings)) == answers(build_engine(first, settings))


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

    monkeypatch.setattr(bot.knowledge.parse_cache, "write_atomically", _refuse_writing)
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


def test_a_damaged_parse_cache_is_logged_with_its_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning about an unreadable parse cache carries the exception that made it so."""
    load_knowledge_base(settings)
    (settings.cache_dir / "articles.parsed").write_bytes(b"not a zip file")
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.parse_cache"):
        load_knowledge_base(settings)
    [record] = [r for r in caplog.records if "parse cache" in r.getMessage()]
    assert "unreadable" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is not None
    assert "Traceback" in caplog.text


def test_a_changed_parser_ignores_the_parse_cache(
    settings: Settings, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is tied to the loader's code: another fingerprint means parsing everything."""
    load_knowledge_base(settings)
    monkeypatch.setattr(bot.knowledge.parse_cache, "_parser_fingerprint", lambda: "another parser")
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
    monkeypatch.setattr(bot.knowledge.parse_cache, "_now_ns", lambda: time.time_ns() + 60 * 10**9)


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
        bot.knowledge.parse_cache,
        "_stat_row",
        lambda i: (i.st_size, i.st_mtime_ns, 0, i.st_ino, i.st_dev),
    )
    _more_files(knowledge_dir)
    load_knowledge_base(settings)  # the files were just written: all inside the window
    extra = knowledge_dir / "extra.md"
    before = extra.stat()
    extra.write_text("# Extra\n\nA first EXTRA paragraph.\n\nAnother.\n")
    os.utime(extra, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert bot.knowledge.parse_cache._stat_row(extra.stat()) == bot.knowledge.parse_cache._stat_row(
        before
    )
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
    assert answers(engines[0]) == answers(engines[1]) == answers(engines[2])
    articles = {a.id: a for a in cold.articles}
    for passage in cold.passages:
        found = [engine.passage(passage.id) for engine in engines]
        assert found[0] == found[1] == found[2] == (passage, articles[passage.article_id])
    assert all(engine.passage("0123456789ab") is None for engine in engines)


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
        *(p.name for p in cache_files(settings)),
    ]
