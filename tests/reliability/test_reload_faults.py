"""Reload faults: the old index serves until a good one is ready; every reload is recorded.

Issue 7, row 4, at the service level (`QAService.reload`), with a real folder and database.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import bot.core.articles.loader
import bot.service
from bot.service import QAService
from bot.settings import Settings
from tests.reliability.conftest import figure, make_settings

QUESTION = "Who is the president of Turkey?"
ZEBRA = "Zebras\n\nThe zebra keeper at the harbour zoo is Olga Brant.\n"


@pytest.fixture
def settings(sample_knowledge: Path, tmp_path: Path) -> Settings:
    return make_settings(sample_knowledge, tmp_path / "data" / "bot.sqlite3")


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[QAService]:
    async with await QAService.start(settings) as s:
        yield s


def reloads(settings: Settings) -> list[dict[str, Any]]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM reloads ORDER BY id").fetchall()
    return [dict(r) for r in rows]


def stored_versions(settings: Settings) -> dict[int, str]:
    with sqlite3.connect(settings.db_path) as db:
        return dict(db.execute("SELECT id, index_version FROM answers").fetchall())


async def assert_still_serving(service: QAService, version: str) -> None:
    answer = await service.ask(QUESTION)
    assert not answer.abstained and "Erdoğan" in answer.answer
    assert answer.index_version == version


async def test_folder_disappears(service: QAService, settings: Settings):
    """The folder is deleted: refused, recorded, and the old index answers on."""
    v1 = service.engine.version
    shutil.rmtree(settings.knowledge_dir)
    report = await service.reload("admin-1")
    assert not report.ok and "not found" in report.message and v1 in report.message
    await assert_still_serving(service, v1)
    (row,) = reloads(settings)
    assert row["outcome"] == "refused" and row["actor"] == "admin-1"
    assert row["index_version"] == v1


async def test_folder_becomes_empty_or_a_file(service: QAService, settings: Settings):
    """An empty folder, then a file in place of the folder: both refused, old index serving."""
    v1 = service.engine.version
    for f in settings.knowledge_dir.iterdir():
        f.unlink()
    empty = await service.reload("a")
    assert not empty.ok and "no usable articles" in empty.message
    settings.knowledge_dir.rmdir()
    settings.knowledge_dir.write_text("not a folder")
    not_dir = await service.reload("b")
    assert not not_dir.ok and "not a folder" in not_dir.message
    await assert_still_serving(service, v1)
    assert [r["outcome"] for r in reloads(settings)] == ["refused", "refused"]


async def test_only_bad_files_is_refused_with_the_reason(service: QAService, settings: Settings):
    """Every file bad: refused, and the admin is told which file and why."""
    v1 = service.engine.version
    for f in settings.knowledge_dir.iterdir():
        f.unlink()
    (settings.knowledge_dir / "blob.md").write_bytes(b"\x00\x01\x02binary")
    report = await service.reload()
    assert not report.ok and "blob.md: binary file" in report.message
    await assert_still_serving(service, v1)


async def test_bad_file_is_reported_and_the_rest_reloads(service: QAService, settings: Settings):
    """A bad file among good ones: reported by name, the rest (with a new article) reloads."""
    v1 = service.engine.version
    (settings.knowledge_dir / "blob.md").write_bytes(b"\x00\x01\x02binary")
    (settings.knowledge_dir / "zebras.md").write_text(ZEBRA)
    report = await service.reload("admin")
    assert report.ok and report.index_version != v1
    assert report.diff.articles_added == ["zebras.md"]
    assert any(p.startswith("blob.md: binary file") for p in report.problems)
    answer = await service.ask("Who is the zebra keeper?")
    assert "Olga Brant" in answer.answer and answer.index_version == report.index_version
    (row,) = reloads(settings)
    assert row["outcome"] == "ok" and "blob.md" in row["problems"]
    assert json.loads(row["diff"])["articles_added"] == ["zebras.md"]


class SlowBuild:
    """Wrap build_engine so a test can hold a build half-way and count overlapping builds."""

    def __init__(self, real: Callable[..., Any], hold: bool = False, pause: float = 0.0):
        self.real = real
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.pause = pause
        self.running = 0
        self.max_running = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            self.started.set()
            assert self.release.wait(timeout=30)
            time.sleep(self.pause)
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


async def test_old_index_serves_while_a_reload_builds_and_a_change_lands_mid_reload(
    service: QAService, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """During a build: answers from the old index; a file added meanwhile waits for the next."""
    v1 = service.engine.version
    (settings.knowledge_dir / "blob.md").write_bytes(b"\x00")  # make this reload differ
    slow = SlowBuild(bot.service.build_engine, hold=True)
    monkeypatch.setattr(bot.service, "build_engine", slow)
    task = asyncio.create_task(service.reload("slow"))
    assert await asyncio.to_thread(slow.started.wait, 30)
    during = [await service.ask(QUESTION) for _ in range(5)]
    assert {a.index_version for a in during} == {v1}
    (settings.knowledge_dir / "zebras.md").write_text(ZEBRA)  # lands after the folder was read
    slow.release.set()
    first = await task
    assert first.ok and "zebras.md" not in first.diff.articles_added
    assert service.engine.version == first.index_version
    after = await service.ask("Who is the zebra keeper?")
    assert after.abstained and after.index_version == first.index_version
    second = await service.reload("next")
    assert second.ok and second.diff.articles_added == ["zebras.md"]
    assert "Olga Brant" in (await service.ask("Who is the zebra keeper?")).answer
    versions = stored_versions(settings)
    assert [versions[a.answer_id] for a in during] == [v1] * 5  # stamped with what they used


async def test_file_vanishing_during_the_folder_read(
    service: QAService, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A file deleted between listing and reading is reported; the reload still succeeds."""
    (settings.knowledge_dir / "a-first.md").write_text("First\n\nAlpha text here.\n")
    (settings.knowledge_dir / "b-gone.md").write_text("Gone\n\nBeta text here.\n")
    real = bot.core.articles.loader.load_article_file

    def delete_next(root: Path, path: Path, *args: Any) -> Any:
        if path.name == "a-first.md":
            (root / "b-gone.md").unlink()
        return real(root, path, *args)

    monkeypatch.setattr(bot.core.articles.loader, "load_article_file", delete_next)
    report = await service.reload()
    assert report.ok and "a-first.md" in report.diff.articles_added
    assert any(p.startswith("b-gone.md: ") for p in report.problems), report.problems


async def test_two_reloads_at_once_are_serialised_and_both_recorded(
    service: QAService, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """Two admins reload together with questions in flight: one build at a time, both recorded."""
    v1 = service.engine.version
    (settings.knowledge_dir / "zebras.md").write_text(ZEBRA)
    slow = SlowBuild(bot.service.build_engine, pause=0.2)
    monkeypatch.setattr(bot.service, "build_engine", slow)
    started = time.perf_counter()
    results = await asyncio.gather(
        service.reload("alice"),
        service.reload("bob"),
        *(service.ask(QUESTION) for _ in range(10)),
    )
    seconds = time.perf_counter() - started
    alice, bob, *answers = results
    assert slow.max_running == 1
    assert alice.ok and bob.ok
    assert alice.diff.articles_added == ["zebras.md"] and bob.diff.articles_added == []
    assert alice.index_version == bob.index_version == service.engine.version != v1
    assert all(a.index_version in {v1, alice.index_version} for a in answers)
    assert [(r["actor"], r["outcome"]) for r in reloads(settings)] == [
        ("alice", "ok"),
        ("bob", "ok"),
    ]
    figure(
        "two reloads at once", f"serialised (max 1 build), 10 questions answered, {seconds:.2f} s"
    )


async def test_unexpected_build_failure_keeps_the_old_index_and_is_recorded(
    service: QAService, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A bug while building: the old index serves on and the reload is recorded as failed."""
    v1 = service.engine.version

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index build exploded")

    monkeypatch.setattr(bot.service, "build_engine", broken)
    report = await service.reload("carol")
    assert not report.ok
    assert "exploded" not in report.message  # internals go to the log, not to the admin
    await assert_still_serving(service, v1)
    (row,) = reloads(settings)
    assert row["actor"] == "carol" and row["outcome"] != "ok"


async def test_damaged_index_cache_is_rebuilt_not_trusted(settings: Settings):
    """A garbage or truncated persisted index is ignored and rebuilt on start."""
    async with await QAService.start(settings) as first:
        v1 = first.engine.version
    caches = list(settings.cache_dir.glob("*.npz"))
    assert caches
    for damage in (b"garbage" * 100, caches[0].read_bytes()[:200]):
        for cache in caches:
            cache.write_bytes(damage)
        async with await QAService.start(settings) as again:
            await assert_still_serving(again, v1)
