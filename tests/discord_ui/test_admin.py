"""/reload is for admins, checked locally; it reports the diff or keeps the old index serving."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.discord_ui.conftest import HarnessFactory
from tests.discord_ui.harness import (
    ADMIN_PERMISSIONS,
    ADMIN_ROLE_ID,
    BOT_ROLE_ID,
    MEMBER_PERMISSIONS,
    DiscordHarness,
)

NEW_ARTICLE = """---
title: Lighthouse keepers of Skerryvore
url: https://example.org/skerryvore
---
The Skerryvore lighthouse was built by Alan Stevenson between 1838 and 1844.

Its keepers were relieved every six weeks by a tender from the island of Tiree.
"""


async def test_non_admin_reload_is_refused_and_changes_nothing(
    harness: DiscordHarness, knowledge_dir: Path, db: sqlite3.Connection
) -> None:
    """A member without Manage Server or an admin role is refused ephemerally; nothing reloads."""
    version = harness.bot.service.engine.version
    (knowledge_dir / "skerryvore.md").write_text(NEW_ARTICLE, encoding="utf-8")
    exchange = await harness.slash("reload", permissions=MEMBER_PERMISSIONS)
    assert len(exchange.calls) == 1 and exchange.last.ephemeral
    assert "Manage Server" in exchange.last.text
    assert harness.bot.service.engine.version == version
    assert db.execute("SELECT count(*) FROM reloads").fetchone()[0] == 0
    ask = await harness.slash("ask", question="Who built the Skerryvore lighthouse?")
    assert "Stevenson" not in ask.last.text


async def test_admin_reload_picks_up_a_new_article_and_reports_it(
    harness: DiscordHarness, knowledge_dir: Path, db: sqlite3.Connection
) -> None:
    """Manage Server may /reload: the new article is reported, recorded and then answered from."""
    version = harness.bot.service.engine.version
    (knowledge_dir / "skerryvore.md").write_text(NEW_ARTICLE, encoding="utf-8")
    exchange = await harness.slash("reload", permissions=ADMIN_PERMISSIONS)
    assert exchange.callbacks[0].json["type"] == 5 and exchange.last.ephemeral
    report = exchange.last.text
    assert "Knowledge base reloaded" in report
    assert "Articles added (1)" in report and "skerryvore.md" in report
    assert harness.bot.service.engine.version != version
    assert db.execute("SELECT outcome FROM reloads").fetchone()[0] == "ok"
    ask = await harness.slash("ask", question="Who built the Skerryvore lighthouse?")
    assert "Alan Stevenson" in ask.last.text
    assert "[Lighthouse keepers of Skerryvore](<https://example.org/skerryvore>)" in ask.last.text


async def test_configured_admin_role_may_reload(harness: DiscordHarness) -> None:
    """A member with the configured admin role id may /reload without Manage Server."""
    exchange = await harness.slash("reload", permissions=MEMBER_PERMISSIONS, roles=[ADMIN_ROLE_ID])
    assert "Knowledge base reloaded" in exchange.last.text and "no changes" in exchange.last.text


async def test_configured_admin_role_name_may_reload(make_harness: HarnessFactory) -> None:
    """A configured admin role name (any case) lets a member /reload; other roles do not."""
    harness = await make_harness(admin_role_ids=[], admin_role_names=["kb admins"])
    allowed = await harness.slash("reload", permissions=MEMBER_PERMISSIONS, roles=[ADMIN_ROLE_ID])
    assert "Knowledge base reloaded" in allowed.last.text
    refused = await harness.slash("reload", permissions=MEMBER_PERMISSIONS, roles=[BOT_ROLE_ID])
    assert "Manage Server" in refused.last.text


async def test_reload_of_an_emptied_folder_keeps_the_old_index_answering(
    harness: DiscordHarness, knowledge_dir: Path, db: sqlite3.Connection
) -> None:
    """Reloading an empty folder is refused with the reason; the old index keeps serving."""
    version = harness.bot.service.engine.version
    for article in knowledge_dir.iterdir():
        article.unlink()
    exchange = await harness.slash("reload", permissions=ADMIN_PERMISSIONS)
    report = exchange.last.text
    assert exchange.last.ephemeral and "Reload refused" in report
    assert f"Still serving index {version}" in report
    assert harness.bot.service.engine.version == version
    assert db.execute("SELECT outcome FROM reloads").fetchone()[0] == "refused"
    ask = await harness.slash("ask", question="Who is Armenia's defence minister?")
    assert "Karapetyan" in ask.last.text


async def test_reload_reports_problem_files(harness: DiscordHarness, knowledge_dir: Path) -> None:
    """A file that cannot be loaded is named in the report; the rest still loads."""
    (knowledge_dir / "broken.md").write_bytes(b"\xff\xfe not utf-8 \x00\x01")
    exchange = await harness.slash("reload", permissions=ADMIN_PERMISSIONS)
    report = exchange.last.text
    assert "Knowledge base reloaded" in report and "broken.md" in report
