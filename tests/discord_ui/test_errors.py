"""One error path: our errors briefly and privately, anything else an apology plus a traceback."""

from __future__ import annotations

import pytest

from bot.errors import StoreError
from tests.discord_ui.harness import DiscordHarness, HarnessFailure


async def test_unexpected_error_in_a_command_apologises_and_logs_the_traceback(
    harness: DiscordHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash inside /ask shows the user a short apology; the traceback goes to the log."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index exploded at 0xdeadbeef")

    monkeypatch.setattr(harness.bot.service, "ask", broken)
    with harness.expecting_errors() as errors:
        exchange = await harness.slash("ask", question="Who is Armenia's defence minister?")
    assert "Sorry, something went wrong" in exchange.last.text
    assert "0xdeadbeef" not in exchange.text
    assert errors and errors[0].exc_info and "0xdeadbeef" in str(errors[0].exc_info[1])


async def test_our_errors_are_shown_as_their_message(
    harness: DiscordHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BotError (here: the database is locked) is shown as its one-line message, not logged."""

    async def locked(*args: object, **kwargs: object) -> None:
        raise StoreError("could not save the answer (database is locked)")

    monkeypatch.setattr(harness.bot.service, "ask", locked)
    exchange = await harness.slash("ask", question="Who is Armenia's defence minister?")
    assert "database is locked" in exchange.last.text


async def test_unexpected_error_answering_a_mention_apologises(
    harness: DiscordHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while answering a mention replies with the apology and logs the traceback."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(harness.bot.service, "ask", broken)
    with harness.expecting_errors() as errors:
        exchange = await harness.say("Who is Armenia's defence minister?", mention_bot=True)
    assert "Sorry, something went wrong" in exchange.last.text
    assert errors


async def test_harness_fails_on_exceptions_in_listeners(harness: DiscordHarness) -> None:
    """The harness itself: an exception in an event handler fails the test (no false green)."""

    async def on_message(message: object) -> None:
        raise ValueError("listener broke")

    harness.bot.add_listener(on_message)
    with pytest.raises(HarnessFailure, match="on_message"):
        await harness.say("hello")


async def test_harness_catches_a_bot_that_answers_itself(harness: DiscordHarness) -> None:
    """The harness itself: a bot replying to every message, its own included, is caught."""

    async def on_message(message: object) -> None:
        await harness.channel.send("echo")

    harness.bot.add_listener(on_message)
    with pytest.raises(HarnessFailure, match="answering itself"):
        await harness.say("hello")
