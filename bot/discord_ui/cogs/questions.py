"""Questions: /ask, /source, @mentions and replies answered in threads, follow-ups there."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.requests import AskedBy
from bot.discord_ui.cooldown import QuestionCooldown
from bot.discord_ui.errors import APOLOGY
from bot.discord_ui.render import answer_embed, content, one_line, source_embed, trim
from bot.discord_ui.views import answer_view
from bot.errors import BotError, QuestionError
from bot.service import clean_question

if TYPE_CHECKING:
    from discord.abc import MessageableChannel

    from bot.core.answering.answers import Answer
    from bot.discord_ui.client import KnowledgeBot

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100
# The 👍 button's custom_id carries the answer id (see views.FeedbackButton).
ANSWER_BUTTON = re.compile(r"kb:fb:up:(?P<id>[0-9]{1,19})")
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


# Mention markup (<@id>, <@!id>, <@&role>, <#channel>) is not part of a question: its ids
# would become search terms. Custom emoji keep their name.
_MENTION = re.compile(r"<(?:@[!&]?|#)[0-9]{1,20}>")
_CUSTOM_EMOJI = re.compile(r"<a?:(\w{1,32}):[0-9]{1,20}>")


def question_text(text: str) -> str:
    """The question as typed, without Discord's mention markup."""
    return _CUSTOM_EMOJI.sub(r"\1", _MENTION.sub(" ", text))


def asked_by(
    user: discord.abc.User, channel_id: int, guild_id: int | None, *, thread: bool
) -> AskedBy:
    """Who asked where; a thread is a conversation, so follow-ups there see earlier turns."""
    return AskedBy(
        source="discord",
        user_id=str(user.id),
        channel_id=str(channel_id),
        guild_id=str(guild_id) if guild_id else None,
        conversation_id=str(channel_id) if thread else None,
    )


class Questions(commands.Cog):
    """Answering: the slash commands and the conversation in threads."""

    def __init__(self, bot: KnowledgeBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.cooldown = QuestionCooldown(
            bot.settings.cooldown_questions, bot.settings.cooldown_seconds
        )

    # --- slash commands ----------------------------------------------------------

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question about the knowledge base")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Ask a question; the answer cites the articles it comes from."""
        if interaction.guild_id is None and not self.settings.answer_in_dms:
            raise QuestionError("I only answer questions in servers, not in direct messages.")
        # The service's own check, run before deferring: a refusal is then one private reply
        # instead of a public "thinking…" followed by an error.
        question = clean_question(question_text(question), self.settings.max_question_chars)
        self.cooldown.hit(interaction.user.id)
        await interaction.response.defer(thinking=True)  # Discord wants a reply within 3 s
        channel_id = interaction.channel_id or interaction.user.id
        who = asked_by(
            interaction.user,
            channel_id,
            interaction.guild_id,
            thread=isinstance(interaction.channel, discord.Thread),
        )
        answer = await self.bot.service.ask(question, who)
        await interaction.followup.send(
            embed=answer_embed(answer), view=answer_view(answer.answer_id)
        )

    @app_commands.command(name="source")
    @app_commands.describe(n="The citation number, as in [1]")
    async def source(
        self, interaction: discord.Interaction, n: app_commands.Range[int, 1, 50]
    ) -> None:
        """Show the full passage behind citation n of the latest answer here."""
        channel_id = interaction.channel_id or interaction.user.id
        cited = await self.bot.service.source(n, channel_id=str(channel_id))
        await interaction.response.send_message(embed=source_embed(cited))

    # --- mentions, replies and threads --------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id:
            return  # never answer ourselves or other bots (or webhooks)
        if message.type not in ANSWERED_TYPES:
            return
        channel = message.channel
        in_our_thread = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        if not (in_our_thread or self._addressed_to_me(message, me)):
            return
        if message.guild is None and not self.settings.answer_in_dms:
            return
        await self._answer_message(message, question_text(message.content))

    @staticmethod
    def _addressed_to_me(message: discord.Message, me: discord.ClientUser) -> bool:
        # Not `me.mentioned_in(message)`: that is also true for @everyone and @here.
        if any(user.id == me.id for user in message.mentions):
            return True
        guild = message.guild
        self_role = guild.self_role if guild is not None else None
        if self_role is not None and self_role in message.role_mentions:
            return True
        ref = message.reference
        return bool(
            ref is not None
            and isinstance(ref.resolved, discord.Message)
            and ref.resolved.author.id == me.id
        )

    async def _answer_message(self, message: discord.Message, text: str) -> None:
        try:
            question = clean_question(text, self.settings.max_question_chars)
            self.cooldown.hit(message.author.id)
            target = await self._conversation_for(message, question)
            thread = isinstance(target, discord.Thread)
            guild_id = message.guild.id if message.guild else None
            who = asked_by(message.author, target.id, guild_id, thread=thread)
            replied_to = self._replied_answer_id(message)
            answer = await self.bot.service.ask(question, who, reply_to=replied_to)
            await self._send_answer(target, answer)
        except BotError as exc:
            await self._reply_briefly(message, str(exc))
        except Exception:
            log.exception("could not answer message %s in %s", message.id, message.channel.id)
            await self._reply_briefly(message, APOLOGY)

    def _replied_answer_id(self, message: discord.Message) -> int | None:
        """The id of the answer a reply points at, so "and when?" under an /ask answer has
        context (read from the 👍 button under it)."""
        ref = message.reference
        replied = ref.resolved if ref is not None else None
        if not isinstance(replied, discord.Message) or replied.author.id != getattr(
            self.bot.user, "id", None
        ):
            return None
        for row in replied.components:
            for item in getattr(row, "children", []):
                match = ANSWER_BUTTON.fullmatch(getattr(item, "custom_id", None) or "")
                if match:
                    return int(match["id"])
        return None

    async def _conversation_for(
        self, message: discord.Message, question: str
    ) -> MessageableChannel:
        """Where to answer: this thread, or a new thread started on the question."""
        channel = message.channel
        if isinstance(channel, discord.Thread) or not isinstance(channel, discord.TextChannel):
            return channel
        try:
            return await message.create_thread(
                name=trim(one_line(question), THREAD_NAME_LIMIT), auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            # e.g. missing Create Public Threads: answer in the channel instead of failing.
            log.warning("could not start a thread in channel %s: %s", channel.id, exc)
            return channel

    async def _send_answer(self, target: discord.abc.Messageable, answer: Answer) -> None:
        await target.send(embed=answer_embed(answer), view=answer_view(answer.answer_id))

    async def _reply_briefly(self, message: discord.Message, text: str) -> None:
        try:
            await message.reply(content(text), mention_author=False)
        except discord.HTTPException:
            log.warning("could not reply to message %s", message.id)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Questions(bot))
