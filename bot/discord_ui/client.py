"""The Bot: built with no network I/O; service, cogs and persistent buttons come in setup_hook."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_ui.admin_views import ADMIN_DYNAMIC_ITEMS
from bot.discord_ui.errors import reply_error
from bot.discord_ui.views import DYNAMIC_ITEMS, on_reason_submitted
from bot.service import QAService
from bot.settings import Settings

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_ui.cogs.questions",
    "bot.discord_ui.cogs.admin",
    "bot.discord_ui.notify",
)


def intents() -> discord.Intents:
    """Only what the features need: guilds (channels, threads, roles), guild messages, and
    message content, without which follow-ups typed in a thread arrive blank."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


def no_prefix(bot: commands.Bot, message: discord.Message) -> list[str]:
    """No text commands: "@bot how …" is a question, never a command named `how`."""
    return []


class KnowledgeTree(app_commands.CommandTree):
    """The command tree whose one error handler answers users briefly and privately."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await reply_error(interaction, error)


def shard_options(settings: Settings) -> dict[str, Any]:
    """A range of shards when configured; nothing (discord.py asks Discord) otherwise."""
    if settings.shard_ids is None:
        return {}
    return {"shard_ids": settings.shard_ids, "shard_count": settings.shard_count}


class KnowledgeBot(commands.AutoShardedBot):
    """A Discord bot answering from the knowledge base through one QAService.

    Without shard settings discord.py chooses the shards; with `shard_ids`/`shard_count`
    this process runs only its range (several processes share one PostgreSQL store).
    """

    def __init__(self, settings: Settings, service: QAService | None = None) -> None:
        super().__init__(
            command_prefix=no_prefix,
            help_command=None,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),  # nothing we send can ping
            tree_cls=KnowledgeTree,
            **shard_options(settings),
        )
        self.settings = settings
        self._service = service
        self._owns_service = service is None
        self._synced = False
        self._watch_stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def service(self) -> QAService:
        if self._service is None:
            raise RuntimeError("the bot is not set up yet (setup_hook has not run)")
        return self._service

    async def setup_hook(self) -> None:
        if self._service is None:
            self._service = await QAService.start(self.settings)
            # a reload in another process brings this one to the same knowledge version
            await self._service.follow_versions()
        # Buttons on earlier messages (even from before a restart) route by their custom_id.
        self.add_dynamic_items(*DYNAMIC_ITEMS, *ADMIN_DYNAMIC_ITEMS)
        self.add_listener(on_reason_submitted, "on_interaction")
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.watch:
            self._watcher = asyncio.create_task(
                self.service.admin.watch(self._watch_stop), name="knowledge-watch"
            )

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (%s) to %d guild(s)",
            self.user,
            self.user and self.user.id,
            len(self.guilds),
        )
        if not self._synced:
            self._synced = True
            await self.sync_commands_if_changed()

    def shard_summary(self) -> str:
        """This process's shards, e.g. "0, 1 of 4" (or "auto" before Discord assigned any)."""
        ids = self.shard_ids if self.shard_ids is not None else sorted(self.shards)
        if not ids or self.shard_count is None:
            return "auto"
        return f"{', '.join(map(str, ids))} of {self.shard_count}"

    def _command_signature(self) -> str:
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def _sync_marker(self) -> Path:
        return self.settings.db_path.parent / "app_commands.sha256"

    async def sync_commands_if_changed(self) -> bool:
        """Sync the global slash commands only when their definitions changed since last time.

        Global syncs are rate-limited and slow to propagate, so they are not sent on every start;
        delete `data/app_commands.sha256` to force one.
        """
        signature = self._command_signature()
        marker = self._sync_marker
        try:
            if marker.read_text().strip() == signature:
                return False
        except OSError:
            pass
        try:
            synced = await self.tree.sync()
        except discord.HTTPException as exc:
            log.warning("could not sync slash commands: %s", exc)
            return False
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(signature + "\n")
        except OSError as exc:
            log.warning("could not write %s: %s", marker, exc)
        log.info("synced %d slash command(s)", len(synced))
        return True

    async def close(self) -> None:
        self._watch_stop.set()
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
        try:
            await super().close()
        finally:
            if self._owns_service and self._service is not None:
                service, self._service = self._service, None
                await service.close()


def create_bot(settings: Settings, service: QAService | None = None) -> KnowledgeBot:
    """The bot, ready to `start`; no network I/O and no loading until `setup_hook`.

    A `service` passed in stays its owner's to close; one started here closes with the bot.
    """
    return KnowledgeBot(settings, service)
