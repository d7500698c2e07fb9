"""`python -m bot run`: start the Discord bot, with start-up failures as one readable line."""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.discord_ui.client import create_bot
from bot.errors import BotError, ConfigError
from bot.redact import redact_logs
from bot.settings import Settings

log = logging.getLogger(__name__)


class RedactToken(logging.Filter):
    """Belt and braces: discord.py never logs the token, and neither may anything else."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token and self._token in message:
            record.msg = message.replace(self._token, "[token]")
            record.args = None
        return True


def setup_logging(settings: Settings, token: str) -> None:
    """Log to stderr at the configured level, with the token redacted from every record."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(settings.log_level.upper())
    logging.getLogger("discord.http").setLevel(logging.INFO)  # request bodies stay out of logs
    for handler in root.handlers:
        handler.addFilter(RedactToken(token))
    redact_logs(settings)  # the database password too


async def run_discord(settings: Settings) -> None:
    """Log in and serve until stopped; a bad token or missing intent raises ConfigError."""
    secret = settings.discord_token
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set (environment or .env)")
    setup_logging(settings, token)
    bot = create_bot(settings)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise ConfigError(
            "Discord refused DISCORD_TOKEN; copy the bot token again from the Developer Portal "
            "(Bot → Reset Token)"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "the Message Content intent is not enabled for this bot; turn it on in the "
            "Developer Portal (Bot → Privileged Gateway Intents)"
        ) from None
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise BotError(f"cannot reach Discord: {exc.__class__.__name__}: {exc}") from None
