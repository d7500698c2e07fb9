"""Admin and status: /reload, and the /kb group (status for all; the knowledge loop for admins).

Commands parse and render only: the work is QAService's (and its AdminService's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.admin_views import RemoveButton, article_key, gaps_page
from bot.discord_ui.attachments import download
from bot.discord_ui.permissions import admin_only
from bot.discord_ui.render import reload_embed, safe, status_embed, trim
from bot.discord_ui.render_admin import version_choice, versions_embed
from bot.discord_ui.views import buttons
from bot.errors import QuestionError
from bot.service import parse_since

if TYPE_CHECKING:
    from bot.discord_ui.client import KnowledgeBot

CHOICES = 25  # Discord shows at most 25 autocomplete choices
CHOICE_LIMIT = 100  # characters in a choice's name and value


def _actor(interaction: discord.Interaction) -> str:
    return f"discord:{interaction.user.id}"


class Admin(commands.Cog):
    """Knowledge base administration."""

    kb = app_commands.Group(name="kb", description="The knowledge base: status and administration")

    def __init__(self, bot: KnowledgeBot) -> None:
        self.bot = bot

    @app_commands.command(name="reload")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        """Reload the knowledge base from its folder (admins only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.service.reload(actor=_actor(interaction))
        await interaction.followup.send(embed=reload_embed(report), ephemeral=True)

    @kb.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show the knowledge base's status: articles, passages, index version, answers."""
        status = await self.bot.service.status()
        embed = status_embed(status, shards=self.bot.shard_summary())
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @kb.command(name="gaps")
    @app_commands.describe(since="only questions asked in this window, like 7d, 24h or 2w")
    @admin_only()
    async def gaps(self, interaction: discord.Interaction, since: str | None = None) -> None:
        """What the bot could not answer or answered badly, grouped (admins only)."""
        window = "all"
        if since:
            try:
                parse_since(since)
            except ValueError as exc:
                raise QuestionError(str(exc)) from None
            window = since.strip().lower()
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed, view = await gaps_page(self.bot.service, window, 0)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    @kb.command(name="add")
    @app_commands.describe(
        file="a .md or .txt article (UTF-8, optional YAML front matter)",
        replace="overwrite an article of the same file name",
    )
    @admin_only()
    async def add(
        self, interaction: discord.Interaction, file: discord.Attachment, replace: bool = False
    ) -> None:
        """Add an article file to the knowledge base, then reload (admins only)."""
        admin = self.bot.service.admin
        admin.check_upload(file.filename, file.size)  # before downloading anything
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await download(file.url, self.bot.settings.max_file_bytes)
        report = await admin.add_article(
            file.filename, data, replace=replace, actor=_actor(interaction)
        )
        heading = f"Added {file.filename}" if report.ok else None
        await interaction.followup.send(embed=reload_embed(report, heading), ephemeral=True)

    @kb.command(name="remove")
    @app_commands.describe(article="the article to remove (type to search titles)")
    @admin_only()
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        """Remove an article from the knowledge base, after a confirmation (admins only)."""
        title, article_id = self.bot.service.admin.article(article)
        view = buttons(RemoveButton(article_key(article_id)), RemoveButton("no"))
        await interaction.response.send_message(
            content=trim(f"Remove **{safe(title)}** (`{article_id}`) and reload?", 2_000),
            view=view,
            ephemeral=True,
        )

    @remove.autocomplete("article")
    async def article_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        found = self.bot.service.admin.article_choices(current, CHOICES)
        return [
            app_commands.Choice(name=trim(f"{title} ({aid})", CHOICE_LIMIT), value=aid)
            for title, aid in found
            if len(aid) <= CHOICE_LIMIT
        ]

    @kb.command(name="versions")
    @admin_only()
    async def versions(self, interaction: discord.Interaction) -> None:
        """List the recorded versions of the knowledge base (admins only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        admin = self.bot.service.admin
        embed = versions_embed(await admin.versions(), await admin.serving_version())
        await interaction.followup.send(embed=embed, ephemeral=True)

    @kb.command(name="rollback")
    @app_commands.describe(version="the version to restore (see /kb versions)")
    @admin_only()
    async def rollback(self, interaction: discord.Interaction, version: str) -> None:
        """Restore the knowledge base's files to a recorded version, then reload (admins only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.service.admin.rollback(version, actor=_actor(interaction))
        heading = f"Rolled back to version {version.strip()}" if report.ok else None
        await interaction.followup.send(embed=reload_embed(report, heading), ephemeral=True)

    @rollback.autocomplete("version")
    async def version_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.casefold().strip()
        versions = await self.bot.service.admin.versions()
        return [
            app_commands.Choice(name=version_choice(v), value=v.id)
            for v in versions
            if needle in version_choice(v).casefold()
        ][:CHOICES]


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Admin(bot))
