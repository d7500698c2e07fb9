"""Buttons of the admin loop: paging through gaps, confirming a removal.

Persistent (`DynamicItem`): the state lives in the `custom_id`, so buttons keep working after
a restart, and each press is checked for admin rights again, locally.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_ui.errors import NotAdmin
from bot.discord_ui.permissions import is_admin
from bot.discord_ui.render import reload_embed
from bot.discord_ui.render_admin import gaps_embed, page_count
from bot.discord_ui.views import RoutedButton, buttons, service_of
from bot.errors import NotFoundError
from bot.service import parse_since

if TYPE_CHECKING:
    from bot.service import QAService


def _check_admin(interaction: discord.Interaction) -> None:
    settings = interaction.client.settings  # type: ignore[attr-defined]
    if not is_admin(interaction.user, interaction.permissions, settings):
        raise NotAdmin("admins only")


def article_key(article_id: str) -> str:
    """A short stand-in for an article id in a custom_id (ids may be longer than fits)."""
    return hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:16]


async def gaps_page(service: QAService, window: str, page: int) -> tuple[discord.Embed, Any]:
    """The embed and buttons of one page of gaps for a window (`all` or like `7d`)."""
    since = None if window == "all" else parse_since(window)
    groups = await service.admin.gaps(since)
    pages = page_count(len(groups))
    page = min(max(page, 0), pages - 1)
    label = "all time" if window == "all" else f"last {window}"
    items = []
    if pages > 1:
        items.append(GapsPageButton(window, page - 1, "◀ Previous", disabled=page == 0))
        items.append(GapsPageButton(window, page + 1, "Next ▶", disabled=page >= pages - 1))
    return gaps_embed(groups, page, label), buttons(*items)


class GapsPageButton(
    RoutedButton, template=r"kb:gaps:(?P<window>all|[0-9]{1,5}[mhdw]):(?P<page>-?[0-9]{1,4})"
):
    """Show another page of /kb gaps in place."""

    def __init__(self, window: str, page: int, label: str = "", *, disabled: bool = False) -> None:
        self.window = window
        self.page = page
        # Two buttons must not share an id: the direction is part of it.
        super().__init__(f"kb:gaps:{window}:{page}", label=label or "Page", disabled=disabled)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> GapsPageButton:
        return cls(match["window"], int(match["page"]))

    async def pressed(self, interaction: discord.Interaction) -> None:
        _check_admin(interaction)
        embed, view = await gaps_page(service_of(interaction), self.window, self.page)
        await interaction.response.edit_message(embed=embed, view=view)


class RemoveButton(RoutedButton, template=r"kb:rm:(?P<key>[0-9a-f]{16}|no)"):
    """Confirm (or cancel) the removal of one article; the result replaces the question."""

    def __init__(self, key: str) -> None:
        self.key = key
        cancel = key == "no"
        super().__init__(
            f"kb:rm:{key}",
            label="Cancel" if cancel else "Remove it",
            style=discord.ButtonStyle.secondary if cancel else discord.ButtonStyle.danger,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RemoveButton:
        return cls(match["key"])

    async def pressed(self, interaction: discord.Interaction) -> None:
        _check_admin(interaction)
        if self.key == "no":
            await interaction.response.edit_message(
                content="Cancelled; nothing was removed.", embed=None, view=None
            )
            return
        service = service_of(interaction)
        article_id = next(
            (a.id for a in service.engine.kb.articles if article_key(a.id) == self.key),
            None,
        )
        if article_id is None:
            raise NotFoundError("That article is no longer in the knowledge base.")
        await interaction.response.defer()  # the reload may take longer than 3 s
        report = await service.admin.remove_article(
            article_id, actor=f"discord:{interaction.user.id}"
        )
        heading = f"Removed {article_id}" if report.ok else None
        await interaction.edit_original_response(
            content=None, embed=reload_embed(report, heading), view=None
        )


ADMIN_DYNAMIC_ITEMS = (GapsPageButton, RemoveButton)
