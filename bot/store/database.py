"""The SQLite backend: answers, citations, feedback, knowledge and reloads in one file (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.answering.answers import Answer, Citation, Turn
from bot.core.answering.gaps import GapQuestion
from bot.core.articles.diff import Snapshot
from bot.core.articles.models import Article, KnowledgeBase
from bot.core.requests import AskedBy
from bot.errors import StoreError
from bot.store.base import KnowledgeState, ReloadRecord, Store, StoreStats
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
from bot.store.sqlite_file import BUSY_TIMEOUT_MS, prepare, probe, transaction_patiently
from bot.store.target import DbTarget

__all__ = ["AskedBy", "SqliteStore", "StoreStats"]


_ANSWER_PLACEHOLDERS = ", ".join("?" * ANSWER_COLUMN_COUNT)


class SqliteStore(Store):
    """One connection (one writer); every write is a short transaction committed at once.

    Several processes may share the file: writes that read first take the write lock up
    front (BEGIN IMMEDIATE), so a reader never has to upgrade and fail with "locked".
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.target = DbTarget(backend="sqlite", path=path)
        # One write transaction at a time: coroutines share the connection, and interleaved
        # statements would commit (or roll back) each other's halves (SQLITE_MISUSE seen
        # with 200 concurrent asks and a reload's sync).
        self._writing = asyncio.Lock()

    @staticmethod
    async def probe_file(target: DbTarget) -> None:
        """StoreError now if the database cannot be opened at all (milliseconds): the slow
        integrity check of `open` can then run alongside other start-up work."""
        assert target.path is not None
        await asyncio.to_thread(probe, target.path)

    @classmethod
    async def connect(cls, target: DbTarget) -> SqliteStore:
        """Open (creating or migrating) the database; StoreError if it cannot be used."""
        assert target.path is not None
        path = target.path
        await asyncio.to_thread(prepare, path)
        try:
            db = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
            await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode keeps every commit across a killed process (not a power cut).
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        db.row_factory = aiosqlite.Row
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    async def _write(self, sql: str, params: Any = ()) -> int:
        async def step() -> int:
            cursor = await self._db.execute(sql, params)
            await self._db.commit()
            return cursor.lastrowid or 0

        async with self._writing:
            try:
                return await transaction_patiently(step, self._db)
            except sqlite3.Error as exc:
                await self._db.rollback()
                raise StoreError(f"could not save to the database ({exc})") from None

    # --- answers -------------------------------------------------------------

    async def save_answer(self, answer: Answer, asked_by: AskedBy) -> int:
        """Store an answer and its citations in one transaction; return its id."""
        async with self._writing:
            try:
                return await transaction_patiently(
                    lambda: self._save_answer(answer, asked_by), self._db
                )
            except sqlite3.Error as exc:
                await self._db.rollback()
                raise StoreError(f"could not save the answer ({exc})") from None

    async def _save_answer(self, answer: Answer, asked_by: AskedBy) -> int:
        cursor = await self._db.execute(
            f"INSERT INTO answers ({ANSWER_COLUMNS}) VALUES ({_ANSWER_PLACEHOLDERS})",
            answer_values(answer, asked_by),
        )
        answer_id = cursor.lastrowid
        await self._db.executemany(
            """INSERT INTO citations (answer_id, n, article_id, title, url, passage_id,
               quote, start, "end", score, passage_hash)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    answer_id,
                    c.n,
                    c.article_id,
                    c.title,
                    c.url,
                    c.passage_id,
                    c.quote,
                    c.start,
                    c.end,
                    c.score,
                    c.passage_hash,
                )
                for c in answer.citations
            ],
        )
        await self._db.commit()
        assert answer_id is not None
        return answer_id

    async def _answer_from_row(self, row: aiosqlite.Row) -> Answer:
        async with self._db.execute(
            "SELECT * FROM citations WHERE answer_id = ? ORDER BY n", (row["id"],)
        ) as cur:
            citations = [Citation(**dict(c)) for c in await cur.fetchall()]
        return answer_from_row(row, citations)

    async def answer(self, answer_id: int) -> Answer | None:
        async with self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)) as cur:
            row = await cur.fetchone()
        return await self._answer_from_row(row) if row else None

    async def latest_answer(self, *, channel_id: str | None) -> Answer | None:
        """The most recent answer given in a channel or thread (None: asked outside any channel,
        as on the command line)."""
        async with self._db.execute(
            "SELECT * FROM answers WHERE channel_id IS ? ORDER BY id DESC LIMIT 1", (channel_id,)
        ) as cur:
            row = await cur.fetchone()
        return await self._answer_from_row(row) if row else None

    async def last_turn(self, conversation_id: str) -> Turn | None:
        """The previous answered turn of a conversation, for follow-ups (survives restarts)."""
        async with self._db.execute(
            """SELECT question, answer, context_terms, resolved FROM answers
               WHERE conversation_id = ? AND abstained = 0 ORDER BY id DESC LIMIT 1""",
            (conversation_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return turn_from_row(row)

    # --- feedback ------------------------------------------------------------

    async def add_feedback(
        self, answer_id: int, user_id: str, value: int, reason: str | None = None
    ) -> None:
        """Record (or change) one user's 👍/👎 on an answer; a new vote clears an old reason."""
        if value not in (-1, 1):
            raise ValueError("feedback is +1 or -1")
        await self._write(
            """INSERT INTO feedback (answer_id, user_id, value, reason) VALUES (?, ?, ?, ?)
               ON CONFLICT (answer_id, user_id) DO UPDATE SET value = excluded.value,
               reason = excluded.reason,
               created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')""",
            (answer_id, user_id, value, reason),
        )

    # --- knowledge and reloads -------------------------------------------------

    async def snapshot(self, *, with_passages: bool = True) -> Snapshot:
        """The knowledge base as last synced: article hashes and (optionally) passage ids."""
        async with self._db.execute("SELECT id, content_hash FROM articles") as cur:
            articles = {r[0]: r[1] for r in await cur.fetchall()}
        passages: dict[str, str] = {}
        if with_passages:  # a million rows: only for reports that count passage changes
            async with self._db.execute("SELECT id, article_id FROM passages") as cur:
                passages = {r[0]: r[1] for r in await cur.fetchall()}
        return Snapshot(articles=articles, passages=passages)

    async def sync_knowledge(self, kb: KnowledgeBase, old: Snapshot | None = None) -> None:
        async with self._writing:
            try:
                async with self._db.execute("SELECT id, content_hash FROM articles") as cur:
                    planned = changed_articles({r[0]: r[1] for r in await cur.fetchall()}, kb)
                if planned == ([], []):  # nothing to write: no write lock taken
                    return
                await self._db.execute("BEGIN IMMEDIATE")
                async with self._db.execute("SELECT id, content_hash FROM articles") as cur:
                    stored = {r[0]: r[1] for r in await cur.fetchall()}
            except sqlite3.Error as exc:
                await self._db.rollback()
                raise StoreError(f"could not save the knowledge base snapshot ({exc})") from None
            stale, fresh = changed_articles(stored, kb)
            await self._sync(stale, fresh)

    async def _sync(self, stale: list[str], fresh: list[Article]) -> None:
        try:
            await self._db.executemany("DELETE FROM articles WHERE id = ?", [(a,) for a in stale])
            await self._db.executemany(
                """INSERT OR REPLACE INTO articles (id, title, url, content_hash)
                   VALUES (?, ?, ?, ?)""",
                [(a.id, a.title, a.url, a.content_hash) for a in fresh],
            )
            await self._db.executemany(
                """INSERT OR REPLACE INTO passages
                   (id, article_id, ordinal, text, start, "end", text_hash)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [
                    (p.id, p.article_id, p.ordinal, p.text, p.start, p.end, p.text_hash)
                    for a in fresh
                    for p in a.passages
                ],
            )
            await self._db.commit()
        except sqlite3.Error as exc:
            await self._db.rollback()
            raise StoreError(f"could not save the knowledge base snapshot ({exc})") from None

    async def record_reload(self, record: ReloadRecord) -> int:
        return await self._write(
            f"INSERT INTO reloads ({RELOAD_COLUMNS}) VALUES ({', '.join('?' * 10)})",
            reload_values(record),
        )

    async def stats(self) -> StoreStats:
        async with self._db.execute(
            "SELECT count(*), coalesce(sum(abstained), 0) FROM answers"
        ) as cur:
            answers, abstained = await cur.fetchone() or (0, 0)
        async with self._db.execute(
            """SELECT coalesce(sum(value = 1), 0), coalesce(sum(value = -1), 0) FROM feedback"""
        ) as cur:
            up, down = await cur.fetchone() or (0, 0)
        async with self._db.execute(
            "SELECT created_at, outcome FROM reloads ORDER BY id DESC LIMIT 1"
        ) as cur:
            last = await cur.fetchone()
        return StoreStats(
            answers=answers,
            abstained=abstained,
            feedback_up=up,
            feedback_down=down,
            last_reload_at=last[0] if last else None,
            last_reload_outcome=last[1] if last else None,
        )

    # --- one knowledge version across processes --------------------------------

    async def publish_version(self, version: str, origin: str) -> bool:
        async with self._writing:
            try:
                for lock in ("", "BEGIN IMMEDIATE"):  # read first; lock only to write
                    if lock:
                        await self._db.execute(lock)
                    async with self._db.execute(
                        "SELECT version FROM knowledge_state WHERE id = 1"
                    ) as cur:
                        row = await cur.fetchone()
                    if row is not None and row[0] == version:
                        await self._db.rollback()
                        return False
                await self._db.execute(
                    """INSERT INTO knowledge_state (id, version, generation, origin)
                       VALUES (1, ?, 1, ?) ON CONFLICT (id) DO UPDATE SET
                       version = excluded.version, generation = generation + 1,
                       origin = excluded.origin,
                       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')""",
                    (version, origin),
                )
                await self._db.commit()
            except sqlite3.Error as exc:
                await self._db.rollback()
                raise StoreError(f"could not record the knowledge version ({exc})") from None
            return True

    async def published_version(self) -> KnowledgeState | None:
        try:
            async with self._db.execute(
                "SELECT version, generation, origin, updated_at FROM knowledge_state WHERE id = 1"
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the knowledge version ({exc})") from None
        return KnowledgeState(**dict(row)) if row else None

    async def claim_run(self, name: str, every: timedelta, now: datetime) -> datetime | None:
        async def step() -> datetime | None:
            await self._db.execute("BEGIN IMMEDIATE")  # read and claim as one, across processes
            last = await self._last_run(name)
            claimed = run_due(last, every, now)
            if last is None or claimed is not None:
                await self._db.execute(
                    """INSERT INTO scheduled_runs (name, last_run) VALUES (?, ?)
                       ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run""",
                    (name, now.isoformat()),
                )
            await self._db.commit()
            return claimed

        async with self._writing:
            try:
                return await transaction_patiently(step, self._db)
            except sqlite3.Error as exc:
                await self._db.rollback()
                raise StoreError(f"could not record the {name} run ({exc})") from None

    async def last_run(self, name: str) -> datetime | None:
        try:
            last = await self._last_run(name)
        except sqlite3.Error as exc:
            raise StoreError(f"could not read the {name} run ({exc})") from None
        return datetime.fromisoformat(last) if last else None

    async def _last_run(self, name: str) -> str | None:
        async with self._db.execute(
            "SELECT last_run FROM scheduled_runs WHERE name = ?", (name,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def integrity(self) -> list[str]:
        async with self._db.execute("PRAGMA integrity_check") as cur:
            problems = [r[0] for r in await cur.fetchall() if r[0] != "ok"]
        async with self._db.execute("PRAGMA foreign_key_check") as cur:
            problems += [f"{r[0]} row {r[1]}: missing {r[2]}" for r in await cur.fetchall()]
        return problems

    # --- admin loop: gaps and feedback reasons -----------------------------------------
    # Plain SQL the PostgreSQL store mirrors: answers abstained on or rated 👎 since a time.

    async def gap_questions(self, *, since: datetime | None, limit: int) -> list[GapQuestion]:
        """The newest `limit` questions abstained on or rated 👎 (asked at or after `since`)."""
        since_text = timestamp_text(since) if since else ""
        async with self._db.execute(
            gap_questions_sql("?", "?"),
            (since_text, limit),
        ) as cur:
            rows = await cur.fetchall()
        rated = [r["id"] for r in rows if r["downvotes"]]
        reasons: dict[int, list[str]] = {}
        if rated:
            marks = ", ".join("?" * len(rated))
            async with self._db.execute(
                f"""SELECT answer_id, reason FROM feedback
                    WHERE value = -1 AND reason IS NOT NULL AND answer_id IN ({marks})
                    ORDER BY created_at""",
                rated,
            ) as cur:
                for answer_id, reason in await cur.fetchall():
                    reasons.setdefault(answer_id, []).append(reason)
        return [gap_question(r, reasons.get(r["id"], [])) for r in rows]
