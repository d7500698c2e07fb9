"""The store interface both backends implement; the service never knows which it has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from bot.core.answering.answers import Answer, Turn
from bot.core.answering.gaps import GapQuestion
from bot.core.articles.diff import KnowledgeDiff, Snapshot
from bot.core.articles.models import KnowledgeBase
from bot.core.requests import AskedBy
from bot.store.target import DbTarget

UNAVAILABLE = "storage unavailable, try again"

__all__ = ["UNAVAILABLE", "AskedBy", "KnowledgeState", "Store", "StoreStats"]


class ReloadRecord(BaseModel):
    """One row of the reload history: who did what to the knowledge base, and the outcome."""

    actor: str | None
    action: str = "reload"
    outcome: str
    message: str
    index_version: str | None
    articles: int | None
    passages: int | None
    diff: KnowledgeDiff | None
    problems: list[str]
    duration_ms: float


class StoreStats(BaseModel):
    answers: int
    abstained: int
    feedback_up: int
    feedback_down: int
    last_reload_at: str | None = None
    last_reload_outcome: str | None = None


class KnowledgeState(BaseModel):
    """The knowledge version every process should serve, as last published by a reload."""

    version: str
    generation: int
    origin: str | None = None
    updated_at: str | None = None


class Store(ABC):
    """Answers, citations, feedback, the knowledge snapshot, reloads and the shared version.

    `Store.open(target)` picks the backend from the target (a path, `sqlite:///…` or
    `postgresql://…`). Every write is one short transaction, committed before it returns.
    """

    target: DbTarget
    # Followers re-read the published version this often (seconds); PostgreSQL also wakes
    # them at once through LISTEN/NOTIFY, so its interval is only a fallback.
    poll_interval: float = 0.25

    @staticmethod
    async def probe(target: DbTarget | Path | str) -> None:
        """StoreError now if the database cannot be used at all (cheap: before slow work)."""
        resolved = _resolve(target)
        if resolved.backend == "postgresql":
            from bot.store.postgres import PostgresStore

            await PostgresStore.check_login(resolved)
            return
        from bot.store.database import SqliteStore

        await SqliteStore.probe_file(resolved)

    @staticmethod
    async def open(target: DbTarget | Path | str, *, pool_size: int = 10) -> Store:
        """Open (creating or migrating) the database; StoreError/ConfigError if unusable."""
        resolved = _resolve(target)
        if resolved.backend == "postgresql":
            from bot.store.postgres import PostgresStore

            return await PostgresStore.connect(resolved, pool_size=pool_size)
        from bot.store.database import SqliteStore

        return await SqliteStore.connect(resolved)

    @property
    def description(self) -> str:
        """Which database, safe to show (no password)."""
        return self.target.describe()

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- answers -------------------------------------------------------------

    @abstractmethod
    async def save_answer(self, answer: Answer, asked_by: AskedBy) -> int:
        """Store an answer and its citations in one transaction; return its id."""

    @abstractmethod
    async def answer(self, answer_id: int) -> Answer | None: ...

    @abstractmethod
    async def latest_answer(self, *, channel_id: str | None) -> Answer | None:
        """The most recent answer given in a channel or thread (None: asked outside any channel,
        as on the command line)."""

    @abstractmethod
    async def last_turn(self, conversation_id: str) -> Turn | None:
        """The previous answered turn of a conversation, for follow-ups (survives restarts)."""

    @abstractmethod
    async def add_feedback(
        self, answer_id: int, user_id: str, value: int, reason: str | None = None
    ) -> None:
        """Record (or change) one user's 👍/👎 on an answer; a new vote clears an old reason."""

    # --- knowledge and reloads -------------------------------------------------

    @abstractmethod
    async def snapshot(self, *, with_passages: bool = True) -> Snapshot:
        """The knowledge base as last synced: article hashes and (optionally) passage ids."""

    @abstractmethod
    async def sync_knowledge(self, kb: KnowledgeBase, old: Snapshot | None = None) -> None:
        """Make the articles/passages tables match `kb`, touching only what changed.

        The stored article hashes are re-read under the write lock (`old` is not trusted:
        another process may have synced since), so concurrent syncs never collide.
        """

    @abstractmethod
    async def record_reload(self, record: ReloadRecord) -> int: ...

    @abstractmethod
    async def stats(self) -> StoreStats: ...

    @abstractmethod
    async def gap_questions(self, *, since: datetime | None, limit: int) -> list[GapQuestion]:
        """The newest `limit` questions abstained on or rated 👎 (asked at or after `since`)."""

    # --- one knowledge version across processes --------------------------------

    @abstractmethod
    async def publish_version(self, version: str, origin: str) -> bool:
        """Record `version` as the one every process should serve and tell the others;
        False (nothing written) when it already is."""

    @abstractmethod
    async def published_version(self) -> KnowledgeState | None: ...

    async def listen_versions(self, wake: Callable[[], None]) -> None:  # noqa: B027
        """Call `wake` whenever another process may have published (default: polling only)."""

    # --- periodic jobs, once per period across processes and restarts ----------

    @abstractmethod
    async def claim_run(self, name: str, every: timedelta, now: datetime) -> datetime | None:
        """Claim job `name` if its period has passed: the previous run's time (the window it
        covers starts there), or None — not due yet, or claimed by another process. The first
        call for a name only starts its clock."""

    @abstractmethod
    async def last_run(self, name: str) -> datetime | None:
        """When job `name` last ran (None: never seen)."""

    @abstractmethod
    async def integrity(self) -> list[str]:
        """Problems found by the backend's consistency checks (empty: clean)."""


def _resolve(target: DbTarget | Path | str) -> DbTarget:
    return target if isinstance(target, DbTarget) else DbTarget.parse(target)
