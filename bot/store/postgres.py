"""The PostgreSQL backend (asyncpg pool): the same tables and migrations as SQLite.

Several bot processes share one database. Schema migrations and knowledge syncs take a
transaction-scoped advisory lock, so processes starting together apply them once. A reload
publishes the knowledge version in `knowledge_state` and NOTIFYs the other processes.

Connections, retries and the one-line outage errors are the pool's (pg_pool.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.core.answering.answers import Answer, Citation, Turn
from bot.core.answering.gaps import GapQuestion
from bot.core.articles.diff import Snapshot
from bot.core.articles.models import KnowledgeBase
from bot.core.requests import AskedBy
from bot.store.base import KnowledgeState, ReloadRecord, Store, StoreStats
from bot.store.migrations import POSTGRES
from bot.store.pg_listen import CHANNEL, VersionListener
from bot.store.pg_pool import CONNECT_TIMEOUT_S, LOCK_SYNC, PgPool
from bot.store.rows import (
    ANSWER_COLUMN_COUNT,
    ANSWER_COLUMNS,
    RELOAD_COLUMNS,
    answer_from_row,
    answer_values,
    changed_articles,
    gap_question,
    gap_questions_sql,
    reload_values,
    run_due,
    timestamp_text,
    turn_from_row,
)
from bot.store.target import DbTarget

NOW = POSTGRES.now

# The citations' columns as arrays, numbered after the answer's own parameters.
_CITATION_ARRAYS = ", ".join(
    f"${ANSWER_COLUMN_COUNT + n}::{kind}[]"
    for n, kind in enumerate(
        ("int", "text", "text", "text", "text", "text", "int", "int", "float8", "text"), start=1
    )
)
SAVE_ANSWER = f"""
WITH saved AS (
    INSERT INTO answers ({ANSWER_COLUMNS})
    VALUES ({", ".join(f"${i}" for i in range(1, ANSWER_COLUMN_COUNT + 1))})
    RETURNING id
), cited AS (
    INSERT INTO citations (answer_id, n, article_id, title, url, passage_id, quote, start,
        "end", score, passage_hash)
    SELECT saved.id, c.* FROM saved, unnest({_CITATION_ARRAYS}) AS c
)
SELECT id FROM saved
"""


class PostgresStore(Store):
    """The store's statements over a `PgPool`; every write is one transaction committed
    before it returns."""

    poll_interval = 1.0  # NOTIFY wakes followers at once; polling only covers a lost listener

    def __init__(self, pool: PgPool) -> None:
        self._pool = pool
        self._run = pool.run
        self.target = pool.target
        self._listener: VersionListener | None = None

    @staticmethod
    async def check_login(target: DbTarget) -> None:
        await PgPool.check_login(target)

    @classmethod
    async def connect(cls, target: DbTarget, *, pool_size: int = 10) -> PostgresStore:
        return cls(await PgPool.connect(target, pool_size=pool_size))

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self._pool.close()

    # --- answers -------------------------------------------------------------

    async def save_answer(self, answer: Answer, asked_by: AskedBy) -> int:
        # One statement (atomic on its own): the answer and its citations in one round trip.
        cites = answer.citations
        args = (
            *answer_values(answer, asked_by),
            [c.n for c in cites],
            [c.article_id for c in cites],
            [c.title for c in cites],
            [c.url for c in cites],
            [c.passage_id for c in cites],
            [c.quote for c in cites],
            [c.start for c in cites],
            [c.end for c in cites],
            [c.score for c in cites],
            [c.passage_hash for c in cites],
        )

        async def work(conn: asyncpg.Connection) -> int:
            return int(await conn.fetchval(SAVE_ANSWER, *args))

        return await self._run(work, write=True, what="save the answer")

    async def _answer_where(self, sql: str, *args: Any) -> Answer | None:
        async def work(conn: asyncpg.Connection) -> Answer | None:
            row = await conn.fetchrow(sql, *args)
            if row is None:
                return None
            cites = await conn.fetch(
                "SELECT * FROM citations WHERE answer_id = $1 ORDER BY n", row["id"]
            )
            return answer_from_row(row, [Citation(**dict(c)) for c in cites])

        return await self._run(work, write=False, what="read the answer")

    async def answer(self, answer_id: int) -> Answer | None:
        return await self._answer_where("SELECT * FROM answers WHERE id = $1", answer_id)

    async def latest_answer(self, *, channel_id: str | None) -> Answer | None:
        return await self._answer_where(
            """SELECT * FROM answers WHERE channel_id IS NOT DISTINCT FROM $1::text
               ORDER BY id DESC LIMIT 1""",
            channel_id,
        )

    async def last_turn(self, conversation_id: str) -> Turn | None:
        async def work(conn: asyncpg.Connection) -> Turn | None:
            row = await conn.fetchrow(
                """SELECT question, answer, context_terms, resolved FROM answers
                   WHERE conversation_id = $1 AND abstained = 0 ORDER BY id DESC LIMIT 1""",
                conversation_id,
            )
            if row is None:
                return None
            return turn_from_row(row)

        return await self._run(work, write=False, what="read the conversation")

    async def add_feedback(
        self, answer_id: int, user_id: str, value: int, reason: str | None = None
    ) -> None:
        if value not in (-1, 1):
            raise ValueError("feedback is +1 or -1")

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                f"""INSERT INTO feedback (answer_id, user_id, value, reason)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (answer_id, user_id) DO UPDATE SET value = excluded.value,
                   reason = excluded.reason, created_at = {NOW}""",
                answer_id,
                user_id,
                value,
                reason,
            )

        await self._run(work, write=True, what="save the feedback")

    # --- knowledge and reloads -------------------------------------------------

    async def snapshot(self, *, with_passages: bool = True) -> Snapshot:
        async def work(conn: asyncpg.Connection) -> Snapshot:
            rows = await conn.fetch("SELECT id, content_hash FROM articles")
            passages: dict[str, str] = {}
            if with_passages:
                passages = {
                    r[0]: r[1] for r in await conn.fetch("SELECT id, article_id FROM passages")
                }
            return Snapshot(articles={r[0]: r[1] for r in rows}, passages=passages)

        return await self._run(work, write=False, what="read the knowledge snapshot")

    async def sync_knowledge(self, kb: KnowledgeBase, old: Snapshot | None = None) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_SYNC)
            stored = {r[0]: r[1] for r in await conn.fetch("SELECT id, content_hash FROM articles")}
            stale, fresh = changed_articles(stored, kb)
            if stale:
                await conn.execute("DELETE FROM articles WHERE id = ANY($1::text[])", stale)
            if fresh:
                await conn.executemany(
                    "INSERT INTO articles (id, title, url, content_hash) VALUES ($1, $2, $3, $4)",
                    [(a.id, a.title, a.url, a.content_hash) for a in fresh],
                )
                await conn.executemany(
                    """INSERT INTO passages (id, article_id, ordinal, text, start, "end",
                       text_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (id) DO UPDATE SET article_id = excluded.article_id,
                       ordinal = excluded.ordinal, text = excluded.text,
                       start = excluded.start, "end" = excluded."end",
                       text_hash = excluded.text_hash""",
                    [
                        (p.id, p.article_id, p.ordinal, p.text, p.start, p.end, p.text_hash)
                        for a in fresh
                        for p in a.passages
                    ],
                )

        await self._run(work, write=True, what="save the knowledge base snapshot", transaction=True)

    async def record_reload(self, record: ReloadRecord) -> int:
        async def work(conn: asyncpg.Connection) -> int:
            return int(
                await conn.fetchval(
                    f"""INSERT INTO reloads ({RELOAD_COLUMNS})
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
                    *reload_values(record),
                )
            )

        return await self._run(work, write=True, what="record the reload")

    async def stats(self) -> StoreStats:
        async def work(conn: asyncpg.Connection) -> StoreStats:
            answers = await conn.fetchrow(
                "SELECT count(*), coalesce(sum(abstained), 0) FROM answers"
            )
            votes = await conn.fetchrow(
                """SELECT count(*) FILTER (WHERE value = 1), count(*) FILTER (WHERE value = -1)
                   FROM feedback"""
            )
            last = await conn.fetchrow(
                "SELECT created_at, outcome FROM reloads ORDER BY id DESC LIMIT 1"
            )
            return StoreStats(
                answers=answers[0],
                abstained=answers[1],
                feedback_up=votes[0],
                feedback_down=votes[1],
                last_reload_at=last[0] if last else None,
                last_reload_outcome=last[1] if last else None,
            )

        return await self._run(work, write=False, what="read the statistics")

    async def gap_questions(self, *, since: datetime | None, limit: int) -> list[GapQuestion]:
        since_text = timestamp_text(since) if since else ""

        async def work(conn: asyncpg.Connection) -> list[GapQuestion]:
            rows = await conn.fetch(
                gap_questions_sql("$1", "$2"),
                since_text,
                limit,
            )
            rated = [r["id"] for r in rows if r["downvotes"]]
            reasons: dict[int, list[str]] = {}
            if rated:
                for answer_id, reason in await conn.fetch(
                    """SELECT answer_id, reason FROM feedback
                       WHERE value = -1 AND reason IS NOT NULL AND answer_id = ANY($1::bigint[])
                       ORDER BY created_at""",
                    rated,
                ):
                    reasons.setdefault(answer_id, []).append(reason)
            return [gap_question(r, reasons.get(r["id"], [])) for r in rows]

        return await self._run(work, write=False, what="read the gaps")

    # --- one knowledge version across processes --------------------------------

    async def publish_version(self, version: str, origin: str) -> bool:
        async def work(conn: asyncpg.Connection) -> bool:
            generation = await conn.fetchval(
                f"""INSERT INTO knowledge_state (id, version, generation, origin)
                   VALUES (1, $1, 1, $2) ON CONFLICT (id) DO UPDATE SET
                   version = excluded.version, generation = knowledge_state.generation + 1,
                   origin = excluded.origin, updated_at = {NOW}
                   WHERE knowledge_state.version <> excluded.version
                   RETURNING generation""",
                version,
                origin,
            )
            if generation is None:
                return False
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, version)  # sent at commit
            return True

        return await self._run(
            work, write=True, what="record the knowledge version", transaction=True
        )

    async def published_version(self) -> KnowledgeState | None:
        async def work(conn: asyncpg.Connection) -> KnowledgeState | None:
            row = await conn.fetchrow(
                "SELECT version, generation, origin, updated_at FROM knowledge_state WHERE id = 1"
            )
            return KnowledgeState(**dict(row)) if row else None

        return await self._run(work, write=False, what="read the knowledge version")

    async def claim_run(self, name: str, every: timedelta, now: datetime) -> datetime | None:
        async def work(conn: asyncpg.Connection) -> datetime | None:
            last = await conn.fetchval(  # the row lock makes a second claimant wait, then see ours
                "SELECT last_run FROM scheduled_runs WHERE name = $1 FOR UPDATE", name
            )
            if last is None:
                await conn.execute(
                    """INSERT INTO scheduled_runs (name, last_run) VALUES ($1, $2)
                       ON CONFLICT (name) DO NOTHING""",
                    name,
                    now.isoformat(),
                )
                return None
            claimed = run_due(last, every, now)
            if claimed is not None:
                await conn.execute(
                    "UPDATE scheduled_runs SET last_run = $2 WHERE name = $1", name, now.isoformat()
                )
            return claimed

        return await self._run(work, write=True, what=f"record the {name} run", transaction=True)

    async def last_run(self, name: str) -> datetime | None:
        async def work(conn: asyncpg.Connection) -> str | None:
            value: str | None = await conn.fetchval(
                "SELECT last_run FROM scheduled_runs WHERE name = $1", name
            )
            return value

        last = await self._run(work, write=False, what=f"read the {name} run")
        return datetime.fromisoformat(last) if last else None

    async def listen_versions(self, wake: Callable[[], None]) -> None:
        """LISTEN on a connection of its own, re-established after the server comes back."""
        if self._listener is None:
            self._listener = VersionListener(self.target.dsn, wake, CONNECT_TIMEOUT_S)

    async def integrity(self) -> list[str]:
        checks = {
            "citations without an answer": """SELECT count(*) FROM citations c
                LEFT JOIN answers a ON a.id = c.answer_id WHERE a.id IS NULL""",
            "passages without an article": """SELECT count(*) FROM passages p
                LEFT JOIN articles a ON a.id = p.article_id WHERE a.id IS NULL""",
            "feedback without an answer": """SELECT count(*) FROM feedback f
                LEFT JOIN answers a ON a.id = f.answer_id WHERE a.id IS NULL""",
            "answered rows without citations": """SELECT count(*) FROM answers a
                WHERE a.abstained = 0 AND NOT EXISTS
                (SELECT 1 FROM citations c WHERE c.answer_id = a.id)""",
        }

        async def work(conn: asyncpg.Connection) -> list[str]:
            found = []
            for name, sql in checks.items():
                count = await conn.fetchval(sql)
                if count:
                    found.append(f"{count} {name}")
            return found

        return await self._run(work, write=False, what="check the database")
