"""Per-user question cooldowns shared by /ask, mentions and thread follow-ups."""

from __future__ import annotations

from discord.ext import commands

from bot.discord_ui.errors import CooldownError


class QuestionCooldown:
    """Allow `rate` questions per `per` seconds for each user."""

    def __init__(self, rate: int, per: float) -> None:
        # The mapping's key function receives what we pass to it: the user id itself.
        self._mapping: commands.CooldownMapping[int] = commands.CooldownMapping(
            commands.Cooldown(rate, per), lambda user_id: user_id
        )

    def hit(self, user_id: int) -> None:
        """Count one question; raise CooldownError if the user is over the limit."""
        retry_after = self._mapping.update_rate_limit(user_id)
        if retry_after:
            raise CooldownError(max(1.0, retry_after))
