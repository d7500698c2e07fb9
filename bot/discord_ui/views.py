"""Persistent buttons under every answer: 👍 / 👎 feedback and "Why this answer?".

The answer id lives in each button's `custom_id`, and the item classes are registered with
`Bot.add_dynamic_items` in `setup_hook`, so buttons on old messages still work after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from bot.discord_ui.errors import reply_error, send_ephemeral
from bot.discord_ui.render import why_embed
from bot.service import MAX_REASON_CHARS

if TYPE_CHECKING:
    from bot.results import Vote
    from bot.service import QAService

THANKS = {"up": "Thanks, noted 👍", "down": "Thanks, noted 👎 — sorry it missed."}


def service_of(interaction: discord.Interaction) -> QAService:
    return interaction.client.service  # type: ignore[attr-defined]


def buttons(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """A row of persistent buttons to send. The view is finished before it is sent: its
    buttons route by custom_id (DynamicItem), so no view needs storing nor timing out (an
    ephemeral message's stored view would otherwise wait 15 minutes for its timeout)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


class RoutedButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A persistent button whose state is its custom_id; an error in its action becomes a
    brief ephemeral reply. Subclasses give the real template, `from_custom_id` and `pressed`
    (this base's template matches nothing and is never registered)."""

    def __init__(
        self,
        custom_id: str,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
    ) -> None:
        button = discord.ui.Button[Any](
            style=style, label=label, emoji=emoji, disabled=disabled, custom_id=custom_id
        )
        super().__init__(button)

    async def pressed(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.pressed(interaction)
        except Exception as exc:
            await reply_error(interaction, exc)


class AnswerButton(RoutedButton, template=r"(?!)"):
    """A button about one stored answer, made from its id alone (the template's `id`)."""

    PREFIX: ClassVar[str]  # the custom_id is f"{PREFIX}:{answer_id}"
    LABEL: ClassVar[str]
    EMOJI: ClassVar[str | None] = None

    def __init__(self, answer_id: int) -> None:
        self.answer_id = answer_id
        super().__init__(f"{self.PREFIX}:{answer_id}", label=self.LABEL, emoji=self.EMOJI)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(int(match["id"]))


class FeedbackButton(RoutedButton, template=r"kb:fb:(?P<vote>up|down):(?P<id>[0-9]{1,19})"):
    """👍 or 👎 on one answer; stored (or changed) per user."""

    def __init__(self, answer_id: int, vote: Vote) -> None:
        self.answer_id = answer_id
        self.vote = vote
        super().__init__(f"kb:fb:{vote}:{answer_id}", emoji="👍" if vote == "up" else "👎")

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        return cls(int(match["id"]), "up" if match["vote"] == "up" else "down")

    async def pressed(self, interaction: discord.Interaction) -> None:
        await service_of(interaction).feedback(self.answer_id, str(interaction.user.id), self.vote)
        if self.vote == "down":  # the vote is kept; a reason is optional, asked after
            view = buttons(ReasonButton(self.answer_id))
            await interaction.response.send_message(THANKS[self.vote], view=view, ephemeral=True)
        else:
            await send_ephemeral(interaction, THANKS[self.vote])


REASON_FIELD = "reason"


class ReasonButton(AnswerButton, template=r"kb:fbr:(?P<id>[0-9]{1,19})"):
    """After a 👎: open a form for an optional reason, which the admins see in /kb gaps."""

    PREFIX = "kb:fbr"
    LABEL = "Tell us why (optional)"

    async def pressed(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(reason_modal(self.answer_id))


def reason_modal(answer_id: int) -> discord.ui.Modal:
    """The form; its submission is handled by `on_reason_submitted` (by custom_id), so the
    modal itself is finished before it is sent: nothing waits in memory for an answer."""
    modal = discord.ui.Modal(
        title="What was wrong with this answer?", custom_id=f"kb:fbr:{answer_id}"
    )
    modal.add_item(
        discord.ui.TextInput(
            label="Reason (optional)",
            custom_id=REASON_FIELD,
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=MAX_REASON_CHARS,
            placeholder="e.g. it quoted the wrong minister; the article is out of date",
        )
    )
    modal.stop()
    return modal


_REASON_MODAL = re.compile(r"kb:fbr:(?P<id>[0-9]{1,19})")


def _submitted_value(components: list[Any], custom_id: str) -> str | None:
    """A text input's value in a modal submission (rows or labels may wrap it)."""
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component["value"])
        inner = component.get("components") or (
            [component["component"]] if "component" in component else []
        )
        found = _submitted_value(inner, custom_id)
        if found is not None:
            return found
    return None


async def on_reason_submitted(interaction: discord.Interaction) -> None:
    """Store the reason given with a 👎 (a listener for every interaction)."""
    if interaction.type is not discord.InteractionType.modal_submit or not interaction.data:
        return
    data: dict[str, Any] = dict(interaction.data)
    match = _REASON_MODAL.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return
    try:
        reason = _submitted_value(list(data.get("components", [])), REASON_FIELD)
        await service_of(interaction).feedback(
            int(match["id"]), str(interaction.user.id), "down", reason or None
        )
        await send_ephemeral(interaction, "Thanks — the admins will see your reason.")
    except Exception as exc:
        await reply_error(interaction, exc)


class WhyButton(AnswerButton, template=r"kb:why:(?P<id>[0-9]{1,19})"):
    """Show, privately, the passages behind an answer with their scores and matched terms."""

    PREFIX = "kb:why"
    LABEL = "Why this answer?"
    EMOJI = "🔎"

    async def pressed(self, interaction: discord.Interaction) -> None:
        answer = await service_of(interaction).answer(self.answer_id)
        await send_ephemeral(interaction, embed=why_embed(answer))


def answer_view(answer_id: int | None) -> discord.ui.View:
    """The button row for one stored answer (empty if it has no id)."""
    view = discord.ui.View(timeout=None)
    if answer_id is not None:
        view.add_item(FeedbackButton(answer_id, "up"))
        view.add_item(FeedbackButton(answer_id, "down"))
        view.add_item(WhyButton(answer_id))
    return view


DYNAMIC_ITEMS = (FeedbackButton, WhyButton, ReasonButton)
