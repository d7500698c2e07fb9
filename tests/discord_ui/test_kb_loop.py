"""The admin's knowledge loop end to end in Discord: gap → add → answered → rollback → gap."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.discord_ui.attachments import AttachmentServer
from tests.discord_ui.harness import ADMIN_PERMISSIONS, DiscordHarness

QUESTION = "When did the Skerryvore lighthouse get its first light?"
ARTICLE = b"""---
title: Skerryvore lighthouse
url: https://example.org/skerryvore
---
The Skerryvore lighthouse was built by Alan Stevenson between 1838 and 1844.

The Skerryvore lighthouse showed its first light on 1 February 1844.
"""


async def test_the_whole_loop_from_gap_to_answer_and_back(
    harness: DiscordHarness,
    knowledge_dir: Path,
    attachment_server: AttachmentServer,
    db: sqlite3.Connection,
) -> None:
    """An unanswerable question shows up in /kb gaps; /kb add of an article answers it with a
    citation; /kb rollback to the version before brings the abstention back."""
    before = await harness.slash("ask", question=QUESTION)
    assert "couldn't find" in before.last.text

    gaps = await harness.slash("kb gaps", permissions=ADMIN_PERMISSIONS)
    assert gaps.last.ephemeral and QUESTION in gaps.last.text and "asked 1×" in gaps.last.text

    (version_before,) = [
        c["value"]
        for c in await harness.autocomplete(
            "kb rollback", "version", "", permissions=ADMIN_PERMISSIONS
        )
    ]
    url = attachment_server.put("skerryvore.md", ARTICLE)
    added = await harness.slash(
        "kb add",
        permissions=ADMIN_PERMISSIONS,
        attachments={"file": harness.attachment("skerryvore.md", url, len(ARTICLE))},
    )
    assert added.last.ephemeral and "Added skerryvore.md" in added.last.text
    assert "Articles added (1)" in added.last.text
    assert (knowledge_dir / "skerryvore.md").read_bytes() == ARTICLE

    answered = await harness.slash("ask", question=QUESTION)
    assert "1 February 1844" in answered.last.text and "[1]" in answered.last.text
    assert "[Skerryvore lighthouse](<https://example.org/skerryvore>)" in answered.last.text

    rolled = await harness.slash(
        "kb rollback", version=version_before, permissions=ADMIN_PERMISSIONS
    )
    assert f"Rolled back to version {version_before}" in rolled.last.text
    assert "Articles removed (1)" in rolled.last.text
    assert not (knowledge_dir / "skerryvore.md").exists()

    again = await harness.slash("ask", question=QUESTION)
    assert "couldn't find" in again.last.text
    actions = [tuple(r) for r in db.execute("SELECT action, actor FROM reloads ORDER BY id")]
    admin = f"discord:{1_200_000_000_000_000_001}"
    assert actions == [("add", admin), ("rollback", admin)]
