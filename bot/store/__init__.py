"""The store adapter: SQLite (default) or PostgreSQL behind one interface, chosen by URL."""

from bot.store.base import AskedBy, KnowledgeState, Store, StoreStats
from bot.store.target import DbTarget

__all__ = ["AskedBy", "DbTarget", "KnowledgeState", "Store", "StoreStats"]
