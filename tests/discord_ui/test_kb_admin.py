"""/kb gaps, add, remove, versions, rollback: admins only (checked locally), validated like the
loader, and nothing on disk or in the database changes when refused."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.admin import DIGEST_JOB
from bot.discord_ui.notify import DIGEST_EVERY
from bot.discord_ui.render_admin import GAPS_PER_PAGE
from bot.settings import Settings
from bot.store import Store
from tests.discord_ui.attachments import AttachmentServer
from tests.discord_ui.harness import (
    ADMIN_PERMISSIONS,
    ADMIN_ROLE_ID,
    CHANNEL_ID,
    DiscordHarness,
)

ARTICLE = b"---\ntitle: Tides of Fundy\n---\nThe Bay of Fundy has the highest tides in the world.\n"


def state(settings: Settings, db: sqlite3.Connection) -> tuple[Any, ...]:
    """Everything a refused command must leave alone: folder, versions, database rows."""
    folder = {p.name: p.read_bytes() for p in settings.knowledge_dir.rglob("*") if p.is_file()}
    versions = (settings.versions_dir / "versions.json").read_bytes()
    rows = tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("answers", "feedback", "reloads", "articles", "passages")
    )
    return folder, versions, rows


async def upload(
    harness: DiscordHarness,
    server: AttachmentServer,
    name: str,
    data: bytes,
    *,
    size: int | None = None,
    **options: Any,
) -> Any:
    url = server.put(name.replace("/", "_"), data)
    attachment = harness.attachment(name, url, len(data) if size is None else size)
    return await harness.slash(
        "kb add", permissions=ADMIN_PERMISSIONS, attachments={"file": attachment}, **options
    )


async def test_non_admins_are_refused_every_admin_command_and_nothing_changes(
    harness: DiscordHarness,
    settings: Settings,
    db: sqlite3.Connection,
    attachment_server: AttachmentServer,
) -> None:
    """Each admin subcommand, and the buttons, answer a plain member ephemerally with the admin
    message before doing anything: no download, no file, no row, no version."""
    await harness.slash("ask", question="What is the capital of France?")
    before = state(settings, db)
    url = attachment_server.put("a.md", ARTICLE)
    attachment = harness.attachment("a.md", url, len(ARTICLE))
    (article_id,) = [a.id for a in harness.bot.service.engine.kb.articles]
    (version,) = [v.id for v in await harness.bot.service.admin.versions()]
    refused = [
        await harness.slash("kb gaps"),
        await harness.slash("kb add", attachments={"file": attachment}),
        await harness.slash("kb remove", article=article_id),
        await harness.slash("kb versions"),
        await harness.slash("kb rollback", version=version),
        await harness.slash("kb versions", dm=True),
    ]
    admin_gaps = await harness.slash("kb gaps", since="30d", permissions=ADMIN_PERMISSIONS)
    assert admin_gaps.last.ephemeral
    admin_remove = await harness.slash(
        "kb remove", article=article_id, permissions=ADMIN_PERMISSIONS
    )
    (confirm, _cancel) = admin_remove.last.custom_ids
    refused.append(await harness.click(confirm))  # a member presses an admin's button
    for exchange in refused:
        assert len(exchange.calls) == 1 and exchange.last.ephemeral
        assert "Manage Server" in exchange.last.text
    assert attachment_server.requests == []
    assert state(settings, db) == before


@pytest.mark.parametrize(
    ("name", "data", "size", "reason"),
    [
        ("bin.md", b"Title\n\nbody \x00\x01\x02", None, "binary file"),
        ("front.md", b"---\ntitle: [oops\n---\nbody\n", None, "malformed front matter"),
        ("big.md", b"x" * 6_000, None, "file is too large"),
        ("liar.md", b"Title\n\n" + b"word " * 1_200, 100, "file is too large"),
        ("empty.txt", b"\n\n  \n", None, "empty file"),
        ("../escape.md", ARTICLE, None, "plain name"),
        ("sub/dir.md", ARTICLE, None, "plain name"),
        (".hidden.md", ARTICLE, None, "hidden"),
        ("paper.pdf", ARTICLE, None, "not a .md or .txt"),
    ],
)
async def test_invalid_files_are_refused_with_the_loaders_reason(
    make_harness: Any,
    settings: Settings,
    attachment_server: AttachmentServer,
    name: str,
    data: bytes,
    size: int | None,
    reason: str,
) -> None:
    """Bad content, a size over the cap (announced or only found while downloading) and path
    tricks in the name are refused, ephemerally, and the folder and database stay as they were."""
    harness = await make_harness(max_file_bytes=5_000)
    with sqlite3.connect(settings.db_path) as db:
        before = state(settings, db)
        exchange = await upload(harness, attachment_server, name, data, size=size)
        assert exchange.last.ephemeral and reason in exchange.last.text
        assert "Nothing was changed" in exchange.last.text
        assert state(settings, db) == before
    assert not list(settings.knowledge_dir.parent.glob("**/escape.md"))


async def test_add_replace_and_remove_with_autocomplete_and_confirmation(
    harness: DiscordHarness,
    settings: Settings,
    db: sqlite3.Connection,
    attachment_server: AttachmentServer,
) -> None:
    """A valid file is written under its own name and reloaded; the same name again is refused
    without replace:True; /kb remove offers titles, asks for confirmation, then reloads."""
    added = await upload(harness, attachment_server, "Fundy tides.md", ARTICLE)
    assert "Added Fundy tides.md" in added.last.text and "Articles added (1)" in added.last.text
    assert (settings.knowledge_dir / "Fundy tides.md").read_bytes() == ARTICLE

    revised = ARTICLE.replace(b"world", b"world, up to 16 metres")
    again = await upload(harness, attachment_server, "Fundy tides.md", revised)
    assert "already exists" in again.last.text and "replace:True" in again.last.text
    assert (settings.knowledge_dir / "Fundy tides.md").read_bytes() == ARTICLE
    replaced = await upload(harness, attachment_server, "Fundy tides.md", revised, replace=True)
    assert "Articles changed (1)" in replaced.last.text

    choices = await harness.autocomplete(
        "kb remove", "article", "fundy", permissions=ADMIN_PERMISSIONS
    )
    assert choices == [{"name": "Tides of Fundy (Fundy tides.md)", "value": "Fundy tides.md"}]
    asked = await harness.slash(
        "kb remove", article="Fundy tides.md", permissions=ADMIN_PERMISSIONS
    )
    assert "Remove **Tides of Fundy**" in asked.last.text
    assert (settings.knowledge_dir / "Fundy tides.md").exists()  # not before the confirmation
    confirm, cancel = asked.last.custom_ids
    cancelled = await harness.click(cancel, permissions=ADMIN_PERMISSIONS)
    assert "nothing was removed" in cancelled.last.text
    removed = await harness.click(confirm, permissions=ADMIN_PERMISSIONS)
    assert "Removed Fundy tides.md" in removed.last.text
    assert "Articles removed (1)" in removed.last.text
    assert not (settings.knowledge_dir / "Fundy tides.md").exists()
    rows = db.execute("SELECT action FROM reloads ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["add", "add", "remove"]


async def test_versions_list_and_rollback_and_back(
    harness: DiscordHarness, settings: Settings, attachment_server: AttachmentServer
) -> None:
    """/kb versions lists recorded versions with who and what; rollback offers them by time
    and summary, restores the files exactly, and rolling forward again works the same way."""
    original = {p.name: p.read_bytes() for p in settings.knowledge_dir.iterdir()}
    await upload(harness, attachment_server, "fundy.md", ARTICLE)
    with_fundy = {p.name: p.read_bytes() for p in settings.knowledge_dir.iterdir()}
    listed = await harness.slash(
        "kb versions", permissions=ADMIN_PERMISSIONS, roles=[ADMIN_ROLE_ID]
    )
    assert "add by user" in listed.last.text and "← serving" in listed.last.text
    assert "1 article(s) added" in listed.last.text and "<@" not in listed.last.text

    choices = await harness.autocomplete(
        "kb rollback", "version", "start", permissions=ADMIN_PERMISSIONS
    )
    (start,) = choices
    assert "start" in start["name"] and len(start["name"]) <= 100
    await harness.slash("kb rollback", version=start["value"], permissions=ADMIN_PERMISSIONS)
    assert {p.name: p.read_bytes() for p in settings.knowledge_dir.iterdir()} == original

    (forward,) = await harness.autocomplete(
        "kb rollback", "version", "· add:", permissions=ADMIN_PERMISSIONS
    )
    back = await harness.slash(
        "kb rollback", version=forward["value"], permissions=ADMIN_PERMISSIONS
    )
    assert "Articles added (1)" in back.last.text
    assert {p.name: p.read_bytes() for p in settings.knowledge_dir.iterdir()} == with_fundy
    unknown = await harness.slash("kb rollback", version="nope", permissions=ADMIN_PERMISSIONS)
    assert unknown.last.ephemeral and "No knowledge base version" in unknown.last.text


async def test_gaps_are_grouped_and_paged_with_buttons(harness: DiscordHarness) -> None:
    """Rewordings count as one group; more groups than fit a page are paged by buttons that
    edit the message in place, each page one embed within Discord's limits."""
    topics = [f"zorblax{n} quantum flux" for n in range(GAPS_PER_PAGE + 2)]
    for topic in topics:
        await harness.slash("ask", question=f"What is the {topic}?")
    for _ in range(2):
        await harness.slash("ask", question="What is the capital of France?")
    await harness.slash("ask", question="capital city of France")
    first = await harness.slash("kb gaps", since="7d", permissions=ADMIN_PERMISSIONS)
    (embed,) = first.last.embeds
    assert embed["fields"][0]["name"].startswith("1. asked 3×")
    assert "capital city of France" in embed["fields"][0]["value"]
    assert len(embed["fields"]) == GAPS_PER_PAGE and "Page 1/2" in embed["footer"]["text"]
    _previous, following = first.last.custom_ids
    second = await harness.click(following, permissions=ADMIN_PERMISSIONS)
    assert second.callbacks[0].json["type"] == 7  # the same message, edited
    (page2,) = second.last.embeds
    assert "Page 2/2" in page2["footer"]["text"]
    assert len(page2["fields"]) == len(topics) + 1 - GAPS_PER_PAGE
    shown = first.last.text + second.last.text
    assert all(topic in shown for topic in topics)
    bad = await harness.slash("kb gaps", since="soon", permissions=ADMIN_PERMISSIONS)
    assert bad.last.ephemeral and "time span" in bad.last.text


async def test_admin_channel_gets_reloads_refusals_and_the_digest_without_mentions(
    make_harness: Any, settings: Settings, attachment_server: AttachmentServer
) -> None:
    """With an admin channel set, each reload (who, diff), a refused one, and the gaps digest
    are posted there; no message can mention anyone."""
    admin_channel = CHANNEL_ID + 1
    harness = await make_harness(admin_channel_id=admin_channel)
    await harness.slash("ask", question="What is the capital of France?")
    await upload(harness, attachment_server, "fundy.md", ARTICLE)
    for path in settings.knowledge_dir.iterdir():
        path.rename(path.with_name("." + path.name))
    await harness.slash("reload", permissions=ADMIN_PERMISSIONS)
    cog = harness.bot.get_cog("AdminNotices")
    assert cog is not None
    await cog.post_digest()  # type: ignore[attr-defined]
    posted = [c for c in harness.calls if c.path == f"/channels/{admin_channel}/messages"]
    assert len(posted) == 3
    added, refused, digest = (c.text for c in posted)
    assert "Article added by user 1200000000000000001" in added and "fundy.md" in added
    assert "was refused" in refused
    assert "Daily digest" in digest and "capital of France" in digest
    for call in posted:
        assert call.json["allowed_mentions"]["parse"] == []  # type: ignore[index]
        assert "<@" not in call.text


async def test_an_overdue_digest_is_posted_once_by_one_of_two_processes_after_a_restart(
    make_harness: Any, settings: Settings
) -> None:
    """The digest clock lives in the store: a digest that fell due while the bot was down is
    posted when it starts, by one process only, covering the time since the last one."""
    async with await Store.open(settings.db_path) as store:
        await store.claim_run(DIGEST_JOB, DIGEST_EVERY, datetime.now(UTC) - 2 * DIGEST_EVERY)
    admin_channel = CHANNEL_ID + 1
    asker = await make_harness()
    await asker.slash("ask", question="What is the capital of France?")
    first = await make_harness(admin_channel_id=admin_channel)
    second = await make_harness(admin_channel_id=admin_channel)
    for _ in range(100):  # both timers fire at once (call_later(0)); let them finish
        await asyncio.sleep(0.02)
        if first.calls or second.calls:
            await asyncio.sleep(0.2)
            break
    posted = [c for h in (first, second) for c in h.calls if "Daily digest" in c.text]
    assert len(posted) == 1 and "capital of France" in posted[0].text
    async with await Store.open(settings.db_path) as store:
        last = await store.last_run(DIGEST_JOB)
    assert last is not None and datetime.now(UTC) - last < timedelta(minutes=1)
