"""A question-answering bot over a knowledge base of articles, for Discord and the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.discord_ui.client import create_bot

__all__ = ["Settings", "create_bot"]


def __getattr__(name: str) -> Any:
    # discord.py is imported only by those who ask for the Discord front end.
    if name == "create_bot":
        from bot.discord_ui.client import create_bot

        return create_bot
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
