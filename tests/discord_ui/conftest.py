"""Fixtures: a real knowledge folder and SQLite file in tmp_path, and a booted bot harness."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import Settings, create_bot
from tests.discord_ui.harness import ADMIN_ROLE_ID, DiscordHarness, install_webhook_recorder

SAMPLE_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
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
async def harness(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DiscordHarness]:
    h = DiscordHarness(create_bot(settings))
    install_webhook_recorder(monkeypatch, h)
    await h.boot()
    try:
        yield h
    finally:
        await h.close()
