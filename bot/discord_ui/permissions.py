"""Who is an admin: checked locally on every admin command and button press."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.discord_ui.errors import NotAdmin

if TYPE_CHECKING:
    from bot.settings import Settings

T = TypeVar("T")


def is_admin(user: discord.abc.User, permissions: discord.Permissions, settings: Settings) -> bool:
    """Manage Server (or Administrator) in this guild, or one of the configured admin roles."""
    if not isinstance(user, discord.Member):
        return False
    if permissions.manage_guild or permissions.administrator:
        return True
    # Member.roles resolves the member's role ids through the guild cache, which the guilds
    # intent keeps filled; a role Discord has not told us about yet counts as no role (the
    # check fails closed).
    roles = user.roles
    role_ids = {r.id for r in roles}
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
