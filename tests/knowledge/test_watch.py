"""Watch mode: a burst of edits under the knowledge folder gives one reload; a refused
automatic reload is reported once and not retried until the next change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.discord_ui.client import create_bot
from bot.knowledge.watch import STEP_MS
from bot.service import QAService, ReloadReport
from bot.settings import Settings


class Reports(list[ReloadReport]):
    """The reports of every reload the watched service made, and a signal for each."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    async def heard(self, report: ReloadReport) -> None:
        self.append(report)
        self.arrived.set()


@pytest.fixture
async def watched(knowledge_dir: Path, db_path: Path) -> AsyncIterator[tuple[QAService, Reports]]:
    """A service whose folder is watched; the reports of every reload it made."""
    settings = Settings(knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None)  # type: ignore[call-arg]
    reports = Reports()
    async with await QAService.start(settings) as service:
        service.reload_listeners.append(reports.heard)
        stop = asyncio.Event()
        task = asyncio.create_task(service.admin.watch(stop))
        await asyncio.sleep(0.5)  # the watcher is armed once awatch has started
        yield service, reports
        stop.set()
        await task


async def wait_for(reports: Reports, n: int) -> None:
    """Until the watcher has made `n` reloads (a report is appended after each)."""
    async with asyncio.timeout(30):
        while len(reports) < n:
            await reports.arrived.wait()
            reports.arrived.clear()


async def quiet(reports: list[ReloadReport]) -> int:
    """How many reports there are once the watcher has had ten quiet periods to add one."""
    await asyncio.sleep(10 * STEP_MS / 1000)
    return len(reports)


async def test_a_burst_of_edits_gives_one_reload(
    watched: tuple[QAService, Reports], knowledge_dir: Path
) -> None:
    """Five files written and one rewritten in a burst: one reload, reporting all of them."""
    service, reports = watched
    for n in range(5):
        (knowledge_dir / f"note{n}.md").write_text(f"Note {n}\n\nThe number is {n}.\n")
    (knowledge_dir / "note0.md").write_text("Note 0\n\nThe number is zero.\n")
    await wait_for(reports, 1)
    assert await quiet(reports) == 1
    (report,) = reports
    assert report.ok and report.action == "watch" and len(report.diff.articles_added) == 5
    assert "zero" in (await service.ask("What is the number of note 0?")).answer


async def test_a_refused_automatic_reload_is_reported_once(
    watched: tuple[QAService, Reports], knowledge_dir: Path
) -> None:
    """Emptying the folder: the reload is refused once (old index serving), not retried."""
    service, reports = watched
    version = service.engine.version
    for path in knowledge_dir.iterdir():
        path.unlink()
    await wait_for(reports, 1)
    assert await quiet(reports) == 1
    assert not reports[0].ok and service.engine.version == version


async def test_our_own_temporary_files_and_unchanged_content_do_not_reload(
    watched: tuple[QAService, Reports], knowledge_dir: Path
) -> None:
    """Hidden files (editors' and our atomic writes') are ignored, and so is rewriting a file
    with the bytes it already had: the folder still holds the served version."""
    _, reports = watched
    (knowledge_dir / ".draft.md.swp").write_text("scratch")
    article = next(knowledge_dir.glob("*.txt"))
    article.write_bytes(article.read_bytes())
    assert await quiet(reports) == 0


async def test_the_bot_watches_when_the_setting_is_on(knowledge_dir: Path, db_path: Path) -> None:
    """With `watch` on (what `run --watch` sets), the bot started in setup_hook reloads on a
    change by itself, and closing the bot stops the watcher."""
    settings = Settings(  # type: ignore[call-arg]
        knowledge_dir=knowledge_dir, db_path=db_path, _env_file=None, watch=True
    )
    # `async with` does the loop-bound set-up login would do first, without the network.
    async with create_bot(settings) as bot:
        await bot.setup_hook()
        reports = Reports()
        bot.service.reload_listeners.append(reports.heard)
        await asyncio.sleep(0.5)  # the watcher is armed once awatch has started
        (knowledge_dir / "new.md").write_text("New\n\nA new article about tides.\n")
        await wait_for(reports, 1)
        assert reports[0].action == "watch" and reports[0].diff.articles_added == ["new.md"]
        await bot.close()
        assert bot._watcher is not None and bot._watcher.done()
