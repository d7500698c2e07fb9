"""Acceptance through Discord with articles the repo does not ship: long passages, hostile input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.discord_ui.conftest import HarnessFactory
from tests.discord_ui.harness import ADMIN_ROLE_ID, Call


def _long_article(folder: Path) -> None:
    sentences = [
        f"Crane model X{i} at the port of Rotterdam lifts {i * 10} tonnes of cargo."
        for i in range(150)
    ]
    (folder / "cranes.md").write_text("Rotterdam harbour cranes\n\n" + " ".join(sentences) + "\n")


def _within_limits(call: Call) -> None:
    message: dict[str, Any] = call.message or {}
    assert len(message.get("content") or "") <= 2000, call
    embeds = message.get("embeds") or []
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        assert len(embed.get("description") or "") <= 4096, call
        assert len(embed.get("title") or "") <= 256, call
        fields = embed.get("fields") or []
        assert len(fields) <= 25, call
        for f in fields:
            assert len(f["name"]) <= 256 and len(f["value"]) <= 1024, call
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
        total += len((embed.get("footer") or {}).get("text") or "")
    assert total <= 6000, call
    if message:
        assert message.get("allowed_mentions") in (None, {"parse": []}), call


async def test_every_reply_stays_within_limits_and_mentions_nobody(
    make_harness: HarnessFactory, knowledge_dir: Path
) -> None:
    """Long passages, a hostile question, the Why view, /source and the /kb pages all stay
    within Discord's limits and never ping anyone."""
    _long_article(knowledge_dir)
    harness = await make_harness()
    calls: list[Call] = []
    asked = await harness.slash("ask", question="How many tonnes does crane model X77 lift?")
    calls += asked.calls
    assert "770 tonnes" in asked.last.text and "[1]" in asked.last.text
    why = next(i for i in asked.last.custom_ids if i.startswith("kb:why:"))
    calls += (await harness.click(why)).calls
    source = await harness.slash("source", n=1)
    calls += source.calls
    assert "770 tonnes" in source.last.text
    hostile = "@everyone <@&42> **crane** `x` ||spoiler|| " + "crane " * 60
    calls += (await harness.slash("ask", question=hostile)).calls
    for command in ("kb status", "kb gaps", "kb versions"):
        calls += (await harness.slash(command, roles=[ADMIN_ROLE_ID])).calls
    assert calls
    for call in calls:
        _within_limits(call)


async def test_a_question_starting_with_an_everyone_ping_is_answered(
    make_harness: HarnessFactory, knowledge_dir: Path
) -> None:
    """ "@everyone what is the INGV?" in /ask is answered as "what is the INGV?" (the ping is
    no key term: it made the bot abstain on "everyone"), and the reply pings nobody."""
    (knowledge_dir / "etna.md").write_text(
        "---\ntitle: Mount Etna eruption\n---\n\nMount Etna erupted on Sunday night.\n\n"
        "Scientists at the INGV said the lava flow was moving slowly toward the Valle del Bove.\n"
    )
    harness = await make_harness()
    exchange = await harness.slash("ask", question="@everyone what is the INGV?")
    assert "Scientists at the INGV" in exchange.last.text and "[1]" in exchange.last.text
    for call in exchange.calls:
        _within_limits(call)
