"""@mentions and replies are answered in threads; follow-ups there keep the conversation."""

from __future__ import annotations

import sqlite3

import discord

from tests.discord_ui.harness import BOT_ID, CHANNEL_ID, DiscordHarness


async def test_mention_is_answered_in_a_new_thread(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """ "@bot question" starts a thread on the question and answers there with citations."""
    exchange = await harness.say("Who is Armenia's defence minister?", mention_bot=True)
    start, answer = exchange.calls[0], exchange.last
    assert start.path == f"/channels/{CHANNEL_ID}/messages/{int(start.path.split('/')[4])}/threads"
    assert start.json["name"] == "Who is Armenia's defence minister?"
    thread_id = start.path.split("/")[4]
    assert answer.path == f"/channels/{thread_id}/messages"
    assert "Karapetyan" in answer.text and "[1]" in answer.text
    row = db.execute("SELECT channel_id, conversation_id, source FROM answers").fetchone()
    assert tuple(row) == (thread_id, thread_id, "discord")


async def test_follow_up_in_the_thread_is_answered_in_context(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """A follow-up typed in the bot's thread (no mention needed) leans on the previous turn."""
    first = await harness.say("Who is Armenia's defence minister?", mention_bot=True)
    thread_id = int(first.calls[0].path.split("/")[4])
    thread = harness.guild.get_thread(thread_id)
    assert isinstance(thread, discord.Thread) and thread.owner_id == BOT_ID
    follow_up = await harness.say("What exhibition did he attend?", channel_id=thread_id)
    assert follow_up.last.path == f"/channels/{thread_id}/messages"
    assert "military-industrial exhibition" in follow_up.last.text
    rows = db.execute("SELECT conversation_id, context_terms FROM answers ORDER BY id").fetchall()
    assert [r["conversation_id"] for r in rows] == [str(thread_id)] * 2
    assert "karapetyan" in rows[1]["context_terms"]  # carried over from the first turn


async def test_source_in_a_thread_uses_the_threads_latest_answer(harness: DiscordHarness) -> None:
    """/source n in a thread shows the passage behind the thread's own latest answer."""
    first = await harness.say("Which TV channel interviewed Aliyev?", mention_bot=True)
    thread_id = int(first.calls[0].path.split("/")[4])
    exchange = await harness.slash("source", n=1, channel_id=thread_id)
    assert "**Azeri President Ilham Aliyev complained" in exchange.last.embeds[0]["description"]


async def test_reply_to_the_bot_is_answered_in_a_thread(harness: DiscordHarness) -> None:
    """Replying to one of the bot's messages counts as asking it."""
    first = await harness.slash("ask", question="Who is Armenia's defence minister?")
    bot_message = harness._messages[max(harness._messages)]
    assert bot_message["author"]["id"] == str(BOT_ID)
    exchange = await harness.say("who is armenias prime minister", reply_to=bot_message)
    assert first.last.text != exchange.last.text
    assert exchange.calls[0].path.endswith("/threads")
    assert "Pashinyan" in exchange.last.text


async def test_reply_to_an_answer_is_a_follow_up_of_that_answer(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """A reply under an /ask answer ("does he …?") is read in that answer's context."""
    await harness.slash("ask", question="Who is Armenia's defence minister?")
    bot_message = harness._messages[max(harness._messages)]
    exchange = await harness.say("Does he want to boost arms production?", reply_to=bot_message)
    assert exchange.calls[0].path.endswith("/threads")
    assert "domestic production" in exchange.last.text
    rows = db.execute("SELECT context_terms FROM answers ORDER BY id").fetchall()
    assert "defens" in rows[-1]["context_terms"]  # borrowed from the answer replied to


async def test_mention_inside_someone_elses_thread_answers_in_that_thread(
    harness: DiscordHarness,
) -> None:
    """In a thread the bot did not start, a mention is answered in place, not in a new thread."""
    thread_id = harness.ids()
    harness.feed(
        "THREAD_CREATE",
        {
            "id": str(thread_id),
            "guild_id": str(harness.guild.id),
            "parent_id": str(CHANNEL_ID),
            "owner_id": "1200000000000000001",
            "name": "chat",
            "type": 11,
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 60,
                "archive_timestamp": "2024-01-01T00:00:00+00:00",
            },
        },
    )
    ignored = await harness.say("just chatting about Turkey", channel_id=thread_id)
    assert len(ignored) == 0  # not the bot's thread and not addressed to it
    exchange = await harness.say(
        "Who is Armenia's defence minister?", channel_id=thread_id, mention_bot=True
    )
    assert [c.path for c in exchange.calls] == [f"/channels/{thread_id}/messages"]
    assert "Karapetyan" in exchange.last.text


async def test_plain_messages_and_everyone_pings_are_not_questions(
    harness: DiscordHarness,
) -> None:
    """Messages not addressed to the bot, including @everyone and @here, get no answer."""
    assert len(await harness.say("Who is Armenia's defence minister?")) == 0
    assert len(await harness.say("@everyone who is Armenia's defence minister?")) == 0
    assert len(await harness.say("@here who is Armenia's defence minister?")) == 0


async def test_bot_ignores_itself_and_other_bots(harness: DiscordHarness) -> None:
    """Messages from the bot itself or from other bots are never answered, even mentioning it."""
    other_bot = await harness.say(
        "Who is Armenia's defence minister?",
        mention_bot=True,
        bot_author=True,
        user_id=1_200_000_000_000_000_777,
    )
    assert len(other_bot) == 0
    itself = await harness.say(
        "Who is Armenia's defence minister?", mention_bot=True, bot_author=True, user_id=BOT_ID
    )
    assert len(itself) == 0
    # A real conversation: every answer the bot posts is echoed back to it by the harness,
    # as the gateway does; answering itself would show up here as more calls.
    exchange = await harness.say("Who is Armenia's defence minister?", mention_bot=True)
    assert len(exchange) == 2  # start the thread, post the answer; nothing after the echo


async def test_no_outgoing_message_can_ping_anyone(harness: DiscordHarness) -> None:
    """Questions quoting @everyone and <@&role> ping nobody: every payload has parse []."""
    question = "@everyone <@&123> <@1200000000000000001> who is Armenia's defence minister?"
    await harness.say(question, mention_bot=True, mention_roles=[123])
    await harness.slash("ask", question=question)
    await harness.slash("ask", question="why " * 400)  # an error reply, too
    sent = harness.all_message_calls()
    assert len(sent) >= 3
    for call in sent:
        assert call.message is not None
        assert call.message.get("allowed_mentions") == {"parse": []}, call
        assert "@everyone" not in call.text  # neutralised with a zero-width space as well
        assert "<@&123>" not in call.text


async def test_empty_mention_and_long_question_get_brief_replies(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """A bare @mention or an over-long question gets a short reply, no thread, nothing stored."""
    bare = await harness.say("", mention_bot=True)
    assert [c.path for c in bare.calls] == [f"/channels/{CHANNEL_ID}/messages"]
    assert "Please type a question" in bare.last.text
    assert bare.last.json["message_reference"]  # a reply to the user's message
    long = await harness.say("why " * 400, mention_bot=True)
    assert "limit is 500" in long.last.text and not long.last.path.endswith("/threads")
    assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 0


async def test_mention_markup_is_not_part_of_the_question(
    harness: DiscordHarness, db: sqlite3.Connection
) -> None:
    """User, role and channel mentions are dropped before asking: their ids are not terms."""
    await harness.say("<@&123> <@456> <#789> who is armenias prime minister", mention_bot=True)
    row = db.execute("SELECT question, query_terms, abstained FROM answers").fetchone()
    assert row["question"] == "who is armenias prime minister"
    assert not any(t in row["query_terms"] for t in ("123", "456", "789"))
    assert not row["abstained"]
