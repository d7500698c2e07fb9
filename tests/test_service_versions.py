"""One knowledge version across processes: a reload published by one service is followed by
another on the same database, or reported when that one cannot build it."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from bot.service import QAService
from bot.settings import Settings
from bot.store.target import DbTarget

ZEBRA = "Zebras\n\nThe zebra keeper at the harbour zoo is Olga Brant.\n"


def settings_for(knowledge: Path, target: DbTarget, tmp_path: Path) -> Settings:
    if target.backend == "sqlite":
        return Settings(_env_file=None, knowledge_dir=knowledge, db_path=target.path)  # type: ignore[call-arg]
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        knowledge_dir=knowledge,
        db_path=tmp_path / "data" / "unused",
        db_url=target.dsn,
    )


async def wait_until(condition, seconds: float = 5.0) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while not await condition():
        assert time.perf_counter() - started < seconds
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def test_follower_swaps_to_exactly_the_published_version(
    db_target: DbTarget, knowledge_dir: Path, tmp_path: Path
) -> None:
    """Same folder: a reload in one service → the other serves that version, stamps answers
    with it, and its status shows no problem."""
    settings = settings_for(knowledge_dir, db_target, tmp_path)
    async with (
        await QAService.start(settings) as leader,
        await QAService.start(settings) as follower,
    ):
        await follower.follow_versions()
        (knowledge_dir / "zebras.md").write_text(ZEBRA)
        report = await leader.reload(actor="test")
        assert report.ok

        async def followed() -> bool:
            return follower.engine.version == report.index_version

        await wait_until(followed)
        answer = await follower.ask("Who is the zebra keeper?")
        status = await follower.status()
    assert answer.index_version == report.index_version and "Olga Brant" in answer.answer
    assert status.published_version == report.index_version and status.version_problem is None


async def test_a_process_that_cannot_build_the_version_keeps_serving_and_says_so(
    db_target: DbTarget, knowledge_dir: Path, tmp_path: Path
) -> None:
    """A follower whose folder lacks the new article keeps its version; /kb status and the
    log name the published version it could not build."""
    other = tmp_path / "other-knowledge"
    shutil.copytree(knowledge_dir, other)
    async with (
        await QAService.start(settings_for(knowledge_dir, db_target, tmp_path)) as leader,
        await QAService.start(settings_for(other, db_target, tmp_path)) as follower,
    ):
        await follower.follow_versions()
        before = follower.engine.version
        (knowledge_dir / "zebras.md").write_text(ZEBRA)
        report = await leader.reload(actor="test")

        async def reported() -> bool:
            return (await follower.status()).version_problem is not None

        await wait_until(reported)
        status = await follower.status()
        answer = await follower.ask("Who is the zebra keeper?")
    assert follower.engine.version == before and status.index_version == before
    assert status.published_version == report.index_version
    assert report.index_version in (status.version_problem or "")
    assert f"still serving {before}" in (status.version_problem or "")
    assert answer.index_version == before
