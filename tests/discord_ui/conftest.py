"""Fixtures: a real knowledge folder and SQLite file in tmp_path, and booted bot harnesses."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import Settings, create_bot
from tests.discord_ui.attachments import attachment_server  # noqa: F401  (a fixture)
from tests.discord_ui.harness import ADMIN_ROLE_ID, DiscordHarness, install_webhook_recorder

SAMPLE_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"

HarnessFactory = Callable[..., Awaitable[DiscordHarness]]


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled articles, safe to modify."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for article in SAMPLE_KNOWLEDGE.glob("*.txt"):
        shutil.copy(article, folder / article.name)
    return folder


@pytest.fixture
def settings(tmp_path: Path, knowledge_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # tests never read a developer's .env
        discord_token=None,
        knowledge_dir=knowledge_dir,
        db_path=tmp_path / "data" / "bot.sqlite3",
        admin_role_ids=[ADMIN_ROLE_ID],
        cooldown_questions=50,
        cooldown_seconds=60,
    )


@pytest.fixture
async def make_harness(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HarnessFactory]:
    """Boot bots (optionally with changed settings); each is closed at the end of the test."""
    booted: list[DiscordHarness] = []

    async def boot(**overrides: Any) -> DiscordHarness:
        h = DiscordHarness(create_bot(settings.model_copy(update=overrides)))
        install_webhook_recorder(monkeypatch, h)
        await h.boot()
        booted.append(h)
        return h

    yield boot
    for h in booted:
        if not h.closed:
            await h.close()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> DiscordHarness:
    return await make_harness()


@pytest.fixture
def db(harness: DiscordHarness, settings: Settings) -> Iterator[sqlite3.Connection]:
    """A plain read connection to the bot's database (created by the booted bot)."""
    connection = sqlite3.connect(settings.db_path)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()
