"""/ask and /source, driven through the gateway's INTERACTION_CREATE path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.discord_ui.conftest import HarnessFactory
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
    assert answer.embeds[0]["fields"][0]["name"].startswith("[1] Russia Says Turkey")
    assert "Index " in answer.embeds[0]["footer"]["text"]
    assert any(i.startswith("kb:fb:up:") for i in answer.custom_ids)
    assert any(i.startswith("kb:why:") for i in answer.custom_ids)


async def test_off_topic_question_abstains(harness: DiscordHarness) -> None:
    """An off-topic question is answered with an abstention that says why, and no citation."""
    exchange = await harness.slash("ask", question="What is the capital of France?")
    text = exchange.last.text
    assert "couldn't find" in text.lower() or "not find" in text.lower()
    assert "[1]" not in text


async def test_answers_and_citations_are_stored(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """Each /ask is a row in answers (with who and where) and its citations are stored too."""
    exchange = await harness.slash("ask", question="Which TV channel interviewed Aliyev?")
    assert "CNN" in exchange.last.text
    await harness.slash("ask", question="What is the capital of France?")
    rows = db.execute("SELECT * FROM answers ORDER BY id").fetchall()
    assert [r["abstained"] for r in rows] == [0, 1]
    assert rows[0]["source"] == "discord"
    assert rows[0]["channel_id"] == str(harness.channel.id)
    assert rows[0]["guild_id"] == str(harness.guild.id)
    assert rows[0]["user_id"] is not None and rows[0]["conversation_id"] is None
    citations = db.execute("SELECT * FROM citations WHERE answer_id = ?", (rows[0]["id"],))
    quotes = [c["quote"] for c in citations]
    assert quotes and "CNN Türk" in " ".join(quotes)
    assert f"Answer #{rows[0]['id']}" in exchange.last.text


async def test_source_shows_the_passage_with_the_quote_in_bold(harness: DiscordHarness) -> None:
    """/source 1 shows the whole passage behind citation [1] with the quoted words in bold."""
    await harness.slash("ask", question="Who is Armenia's defence minister?")
    exchange = await harness.slash("source", n=1)
    embed = exchange.last.embeds[0]
    assert "**The announcement comes in the wake of the Armenian Minister" in embed["description"]
    # the rest of the passage is there too, not only the quote
    assert "domestic production of arms" in embed["description"]
    assert embed["title"].startswith("[1] ")


async def test_source_without_an_answer_or_citation_is_a_private_hint(
    harness: DiscordHarness,
) -> None:
    """/source before any answer, or with a number the answer lacks, replies ephemerally."""
    exchange = await harness.slash("source", n=1)
    assert exchange.last.ephemeral and "no answer in this channel" in exchange.last.text
    await harness.slash("ask", question="Who is Armenia's defence minister?")
    exchange = await harness.slash("source", n=7)
    assert exchange.last.ephemeral and "there is no [7]" in exchange.last.text


async def test_over_long_question_gets_a_friendly_private_message(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """A question over the length cap is refused at once, privately, and nothing is stored."""
    exchange = await harness.slash("ask", question="why " * 400)
    assert len(exchange.callbacks) == 1 and exchange.last.ephemeral
    assert "limit is 500" in exchange.last.text
    assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0


async def test_cooldown_refuses_extra_questions_privately(make_harness: HarnessFactory) -> None:
    """Over the per-user cooldown, /ask is refused ephemerally; another user can still ask."""
    harness = await make_harness(cooldown_questions=2, cooldown_seconds=60)
    for _ in range(2):
        ok = await harness.slash("ask", question="Who is Armenia's prime minister?")
        assert "Pashinyan" in ok.text
    refused = await harness.slash("ask", question="Who is Armenia's prime minister?")
    assert refused.last.ephemeral and "please wait" in refused.last.text
    assert not [c for c in refused.callbacks if c.json["type"] == 5]  # no "thinking…" first
    other = await harness.slash(
        "ask", question="Who is Armenia's prime minister?", user_id=1_200_000_000_000_000_099
    )
    assert "Pashinyan" in other.text


async def test_kb_shows_status(harness: DiscordHarness) -> None:
    """/kb reports articles, passages, the index version and answers served."""
    await harness.slash("ask", question="Who is Armenia's defence minister?")
    exchange = await harness.slash("kb status")
    text = exchange.last.text
    assert "Articles\n1" in text and "Passages" in text and "Index version" in text
    assert "Answers served\n1" in text


async def test_kb_says_when_the_embedding_model_is_missing(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    """/kb names a missing embedding model and the command that installs it; /ask answers."""
    harness = await make_harness(embedding_model=str(tmp_path / "no-model"))
    answered = await harness.slash("ask", question="Who is Armenia's defence minister?")
    assert "Karapetyan" in answered.last.text
    text = (await harness.slash("kb status")).last.text
    assert "Embeddings" in text and "python -m bot model install" in text
