"""Who asked a question, and where: the one request type the store, the service and both
front ends share (plain data, so every layer may import it)."""

from __future__ import annotations

from pydantic import BaseModel


class AskedBy(BaseModel):
    """Who asked, and where (all optional: the CLI has no channel)."""

    source: str = "cli"
    user_id: str | None = None
    channel_id: str | None = None
    guild_id: str | None = None
    conversation_id: str | None = None
