"""Admin and status: /reload (checked locally) and /kb."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.errors import NotAdmin
from bot.discord_ui.render import reload_embed, status_embed

if TYPE_CHECKING:
    from bot.discord_ui.client import KnowledgeBot
    from bot.settings import Settings

T = TypeVar("T")


def is_admin(user: discord.abc.User, permissions: discord.Permissions, settings: Settings) -> bool:
    """Manage Server (or Administrator) in this guild, or one of the configured admin roles."""
    if not isinstance(user, discord.Member):
        return False
    if permissions.manage_guild or permissions.administrator:
        return True
    roles = user.roles
    role_ids = {r.id for r in roles} | set(getattr(user, "_roles", ()))  # ids even if uncached
    role_names = {r.name.casefold() for r in roles}
    return bool(
        role_ids & set(settings.admin_role_ids)
        or role_names & {n.casefold() for n in settings.admin_role_names}
    )


def admin_only() -> Callable[[T], T]:
    """A local check: `default_permissions` is only a hint to Discord's client."""

    async def predicate(interaction: discord.Interaction) -> bool:
        settings: Settings = interaction.client.settings  # type: ignore[attr-defined]
        if not is_admin(interaction.user, interaction.permissions, settings):
            raise NotAdmin("admins only")
        return True

    return app_commands.check(predicate)


class Admin(commands.Cog):
    """Knowledge base administration."""

    def __init__(self, bot: KnowledgeBot) -> None:
        self.bot = bot

    @app_commands.command(name="reload")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        """Reload the knowledge base from its folder (admins only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.service.reload(actor=f"discord:{interaction.user.id}")
        await interaction.followup.send(embed=reload_embed(report), ephemeral=True)

    @app_commands.command(name="kb")
    async def kb(self, interaction: discord.Interaction) -> None:
        """Show the knowledge base's status: articles, passages, index version, answers."""
        status = await self.bot.service.status()
        embed = status_embed(status, shards=self.bot.shard_summary())
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Admin(bot))
