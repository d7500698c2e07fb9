"""Persistent buttons under every answer: 👍 / 👎 feedback and "Why this answer?".

The answer id lives in each button's `custom_id`, and the item classes are registered with
`Bot.add_dynamic_items` in `setup_hook`, so buttons on old messages still work after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_ui.errors import reply_error, send_ephemeral
from bot.discord_ui.render import why_embed

if TYPE_CHECKING:
    from bot.results import Vote
    from bot.service import QAService

THANKS = {"up": "Thanks, noted 👍", "down": "Thanks, noted 👎 — sorry it missed."}


def _service(interaction: discord.Interaction) -> QAService:
    return interaction.client.service  # type: ignore[attr-defined]


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kb:fb:(?P<vote>up|down):(?P<id>[0-9]{1,19})",
):
    """👍 or 👎 on one answer; stored (or changed) per user."""

    def __init__(self, answer_id: int, vote: Vote) -> None:
        self.answer_id = answer_id
        self.vote = vote
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if vote == "up" else "👎",
                custom_id=f"kb:fb:{vote}:{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        return cls(int(match["id"]), "up" if match["vote"] == "up" else "down")

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await _service(interaction).feedback(
                self.answer_id, str(interaction.user.id), self.vote
            )
            await send_ephemeral(interaction, THANKS[self.vote])
        except Exception as exc:
            await reply_error(interaction, exc)


class WhyButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kb:why:(?P<id>[0-9]{1,19})",
):
    """Show, privately, the passages behind an answer with their scores and matched terms."""

    def __init__(self, answer_id: int) -> None:
        self.answer_id = answer_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label="Why this answer?",
                emoji="🔎",
                custom_id=f"kb:why:{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> WhyButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            answer = await _service(interaction).answer(self.answer_id)
            await send_ephemeral(interaction, embed=why_embed(answer))
        except Exception as exc:
            await reply_error(interaction, exc)


def answer_view(answer_id: int | None) -> discord.ui.View:
    """The button row for one stored answer (empty if it has no id)."""
    view = discord.ui.View(timeout=None)
    if answer_id is not None:
        view.add_item(FeedbackButton(answer_id, "up"))
        view.add_item(FeedbackButton(answer_id, "down"))
        view.add_item(WhyButton(answer_id))
    return view


DYNAMIC_ITEMS = (FeedbackButton, WhyButton)
