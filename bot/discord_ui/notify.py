"""Admin notices: reloads (who, the diff), refused reloads and a daily digest of new gaps,
posted to the configured admin channel. Never mentions anyone: ids are shown as text and the
bot's allowed mentions are none."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_ui.render import reload_embed
from bot.discord_ui.render_admin import actor_label, gaps_embed
from bot.errors import StoreError
from bot.service import ReloadReport

if TYPE_CHECKING:
    from bot.discord_ui.client import KnowledgeBot

log = logging.getLogger(__name__)

DIGEST_EVERY = timedelta(days=1)
RETRY_AFTER = timedelta(hours=1)  # the store could not be reached when the digest was due


DONE = {
    "reload": "Knowledge base reloaded",
    "add": "Article added",
    "remove": "Article removed",
    "rollback": "Knowledge base rolled back",
    "watch": "Knowledge base reloaded after file changes",
}


def reload_heading(report: ReloadReport) -> str:
    """What happened and who did it, as plain text (a user id, never a mention)."""
    who = "watch mode" if report.action == "watch" else actor_label(report.actor)
    if report.ok:
        return f"{DONE.get(report.action, 'Knowledge base reloaded')} by {who}"
    return f"Reload ({report.action}) by {who} was refused"


class AdminNotices(commands.Cog):
    """Posts to `settings.admin_channel_id`; does nothing when it is not set."""

    def __init__(self, bot: KnowledgeBot) -> None:
        self.bot = bot
        self._next_digest: asyncio.TimerHandle | None = None
        self._digesting: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def channel_id(self) -> int | None:
        return self.bot.settings.admin_channel_id

    async def cog_load(self) -> None:
        if self.channel_id is None:
            return
        self.bot.service.reload_listeners.append(self.on_reload)
        await self._schedule_digest()

    async def cog_unload(self) -> None:
        self._stopped = True
        if self.on_reload in self.bot.service.reload_listeners:
            self.bot.service.reload_listeners.remove(self.on_reload)
        if self._next_digest is not None:
            self._next_digest.cancel()

    async def _schedule_digest(self) -> None:
        # A timer, not a sleeping task: nothing runs (or waits) between two digests. The due
        # time comes from the store, so a restart neither skips nor repeats a digest, and of
        # several processes only the one that claims it posts.
        if self._stopped:
            return
        try:
            delay = await self.bot.service.admin.next_digest(DIGEST_EVERY) - datetime.now(UTC)
        except StoreError as exc:
            log.warning("gaps digest not scheduled (%s); trying again in an hour", exc)
            delay = RETRY_AFTER
        loop = asyncio.get_running_loop()
        self._next_digest = loop.call_later(max(delay.total_seconds(), 0.0), self._digest_due)

    def _digest_due(self) -> None:
        self._digesting = asyncio.ensure_future(self._run_digest())

    async def _run_digest(self) -> None:
        try:
            since = await self.bot.service.admin.claim_digest(DIGEST_EVERY)
            if since is not None:
                await self.post_digest(since)
        except StoreError as exc:
            log.warning("gaps digest skipped: %s", exc)
        finally:
            await self._schedule_digest()

    async def on_reload(self, report: ReloadReport) -> None:
        await self._post(embed=reload_embed(report, reload_heading(report)))

    async def post_digest(self, since: datetime | None = None) -> bool:
        """Post the gaps asked since `since` (default: a period ago); nothing when none."""
        now = datetime.now(UTC)
        since = since or now - DIGEST_EVERY
        groups = await self.bot.service.admin.gaps(now - since)
        if not groups:
            return False
        window = f"new since {since.strftime('%Y-%m-%d %H:%M')} UTC"
        await self._post(
            content="Daily digest of knowledge gaps", embed=gaps_embed(groups, 0, window)
        )
        return True

    async def _post(self, **message: object) -> None:
        if self.channel_id is None:
            return
        channel = self.bot.get_partial_messageable(self.channel_id)
        try:
            await channel.send(allowed_mentions=discord.AllowedMentions.none(), **message)  # type: ignore[call-overload]
        except discord.HTTPException as exc:
            log.warning("could not post to the admin channel: %s", exc)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(AdminNotices(bot))
