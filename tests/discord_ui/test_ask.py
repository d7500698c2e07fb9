"""/ask and /source, driven through the gateway's INTERACTION_CREATE path."""

from __future__ import annotations

from tests.discord_ui.harness import DiscordHarness


async def test_ask_defers_then_follows_up_with_cited_fact(harness: DiscordHarness) -> None:
    """/ask defers first, then follows up with an embed holding the fact and its [1] citation."""
    exchange = await harness.slash("ask", question="Who is Armenia's defence minister?")
    first = exchange.calls[0]
    assert first.path.endswith("/callback") and first.json["type"] == 5
    answer = exchange.last
    assert answer.via == "webhook" and answer.method == "POST"
    assert "Karapetyan" in answer.text and "[1]" in answer.text
    assert not answer.ephemeral
    assert any(i.startswith("kb:fb:up:") for i in answer.custom_ids)
    assert any(i.startswith("kb:why:") for i in answer.custom_ids)
