"""One place that turns errors into short replies; tracebacks go to the log, never to Discord."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discord_ui.render import content
from bot.errors import BotError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again later."
ADMIN_ONLY = (
    "You need the Manage Server permission or a bot admin role to use this command. "
    "Nothing was changed."
)


class CooldownError(BotError):
    """A user asked too many questions in a short time."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"You're asking a lot of questions — please wait {retry_after:.0f} s and try again."
        )


class NotAdmin(app_commands.CheckFailure):
    """The user is neither a Manage Server holder nor in a configured admin role."""


def user_message(error: BaseException) -> str:
    """The short text a user sees for an error; unexpected errors are logged with a traceback."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
        if isinstance(error, app_commands.CommandInvokeError):
            error = error.original
    if isinstance(error, BotError):
        return str(error)
    if isinstance(error, NotAdmin):
        return ADMIN_ONLY
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.MissingPermissions | app_commands.MissingAnyRole):
        return ADMIN_ONLY
    if isinstance(error, app_commands.CommandOnCooldown):
        return CooldownError(error.retry_after).args[0]
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    log.error("unexpected error", exc_info=(type(error), error, error.__traceback__))
    return APOLOGY


async def send_ephemeral(
    interaction: discord.Interaction, text: str | None = None, *, embed: discord.Embed | None = None
) -> None:
    """Reply privately, whether or not the interaction was already answered or deferred."""
    kwargs: dict = {"ephemeral": True}
    if text is not None:
        kwargs["content"] = content(text)
    if embed is not None:
        kwargs["embed"] = embed
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


async def reply_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer an interaction's error briefly and privately (never raises)."""
    text = user_message(error)
    try:
        await send_ephemeral(interaction, text)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id)
