"""The bot factory and the runner: no I/O at creation, minimal intents, readable start-up errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import discord
import pytest
from aiohttp import web
from discord.http import Route
from pydantic import SecretStr

from bot import Settings, create_bot
from bot.discord_ui.runner import run_discord
from bot.errors import ConfigError
from tests.discord_ui.conftest import HarnessFactory
from tests.discord_ui.harness import DiscordHarness

FAKE_TOKEN = "MTAx.fake-token-for-tests.abcdefghijklmnopqrstuvwxyz"


def test_create_bot_is_offline_and_minimal(settings: Settings) -> None:
    """create_bot does no I/O (no database yet), asks for three intents and pings nobody."""
    bot = create_bot(settings)
    assert not settings.db_path.exists()
    assert bot.intents == discord.Intents(guilds=True, guild_messages=True, message_content=True)
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == {"parse": []}


async def test_slash_commands_are_registered_in_setup_hook(harness: DiscordHarness) -> None:
    """setup_hook registers /ask, /source, /reload and /kb; /reload hints Manage Server."""
    names = {c.name for c in harness.bot.tree.get_commands()}
    assert names == {"ask", "source", "reload", "kb"}
    reload = harness.bot.tree.get_command("reload")
    assert isinstance(reload, discord.app_commands.Command)
    assert reload.default_permissions == discord.Permissions(manage_guild=True)
    assert not reload.allowed_contexts or not reload.allowed_contexts.dm_channel


async def test_mention_starting_with_a_word_is_a_question_not_a_command(
    harness: DiscordHarness,
) -> None:
    """ "@bot how …" is answered as a question; it is never parsed as a text command `how`."""
    exchange = await harness.say("how did Turkey get the S-400?", mention_bot=True)
    assert exchange.last.path.endswith("/messages") and exchange.last.embeds


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """A local stand-in for Discord's API that rejects every token, as Discord does."""
    seen: list[str] = []

    async def me(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", me)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # the port the OS picked
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    yield seen
    await runner.cleanup()


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The runner configures the root logger; put it back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, {h: list(h.filters) for h in root.handlers}
    yield
    root.setLevel(level)
    for handler, filters in handlers.items():
        handler.filters = filters


async def test_bad_token_is_a_one_line_config_error_and_never_logged(
    settings: Settings,
    discord_api: list[str],
    caplog: pytest.LogCaptureFixture,
    root_logging: None,
) -> None:
    """Discord refusing the token becomes ConfigError; the token appears in no log record."""
    caplog.set_level(logging.DEBUG)
    bad = settings.model_copy(update={"discord_token": SecretStr(FAKE_TOKEN), "log_level": "DEBUG"})
    with pytest.raises(ConfigError, match="Discord refused DISCORD_TOKEN") as raised:
        await run_discord(bad)
    assert "\n" not in str(raised.value)
    assert discord_api == [f"Bot {FAKE_TOKEN}"]  # it really went to the (local) API
    assert all(FAKE_TOKEN not in r.getMessage() for r in caplog.records)
    assert not settings.db_path.exists()  # nothing was loaded for a bot that cannot log in


async def test_missing_token_is_a_config_error(settings: Settings) -> None:
    """Without DISCORD_TOKEN the runner stops with a one-line ConfigError."""
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        await run_discord(settings)


async def test_commands_are_synced_only_when_they_change(harness: DiscordHarness) -> None:
    """The global sync runs once for new definitions, then not again until they change."""
    assert await harness.bot.sync_commands_if_changed() is True
    puts = [c for c in harness.calls if c.method == "PUT"]
    assert len(puts) == 1 and {c["name"] for c in puts[0].json} == {"ask", "source", "reload", "kb"}
    assert await harness.bot.sync_commands_if_changed() is False
    assert len([c for c in harness.calls if c.method == "PUT"]) == 1


async def test_direct_messages_follow_the_dm_policy(make_harness: HarnessFactory) -> None:
    """/ask in a DM is answered when BOT_ANSWER_IN_DMS is on, refused privately when off."""
    allowed = await make_harness()
    exchange = await allowed.slash("ask", dm=True, question="Who is Armenia's defence minister?")
    assert "Karapetyan" in exchange.last.text
    refused = await make_harness(answer_in_dms=False)
    exchange = await refused.slash("ask", dm=True, question="Who is Armenia's defence minister?")
    assert exchange.last.ephemeral and "not in direct messages" in exchange.last.text
