"""The SQLite adapter: answers, citations, feedback, knowledge snapshots and reload history."""

from bot.store.database import Store

__all__ = ["Store"]
