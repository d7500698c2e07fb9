"""Schema migrations: small functions applied once each, in order (PRAGMA user_version)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _initial() -> str:
    return """
CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            url TEXT,
            content_hash TEXT NOT NULL,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE passages (
            id TEXT PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            text_hash TEXT NOT NULL
        );
        CREATE INDEX passages_article ON passages(article_id);
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            abstained INTEGER NOT NULL,
            reason TEXT,
            query_terms TEXT NOT NULL DEFAULT '[]',
            context_terms TEXT NOT NULL DEFAULT '[]',
            evidence TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            user_id TEXT,
            channel_id TEXT,
            guild_id TEXT,
            conversation_id TEXT,
            index_version TEXT NOT NULL,
            latency_ms REAL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX answers_conversation ON answers(conversation_id, id);
        CREATE INDEX answers_channel ON answers(channel_id, id);
        CREATE TABLE citations (
            answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
            n INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            title TEXT NOT NULL,
            url TEXT,
            passage_id TEXT NOT NULL,
            quote TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            score REAL NOT NULL,
            passage_hash TEXT NOT NULL,
            PRIMARY KEY (answer_id, n)
        );
        CREATE TABLE feedback (
            answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            value INTEGER NOT NULL CHECK (value IN (-1, 1)),
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (answer_id, user_id)
        );
        CREATE TABLE reloads (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            actor TEXT,
            outcome TEXT NOT NULL,
            message TEXT NOT NULL,
            index_version TEXT,
            articles INTEGER,
            passages INTEGER,
            diff TEXT NOT NULL DEFAULT '{}',
            problems TEXT NOT NULL DEFAULT '[]',
            duration_ms REAL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        """


def _admin_loop() -> str:
    """Which admin action a reload came from; the reason a user gave with a 👎."""
    return """
        ALTER TABLE reloads ADD COLUMN action TEXT NOT NULL DEFAULT 'reload';
        ALTER TABLE feedback ADD COLUMN reason TEXT;
        CREATE INDEX answers_created ON answers(created_at);
        """


def _carried_terms() -> str:
    """The terms a follow-up borrowed, apart from those it hands on ("Why this answer?")."""
    return "ALTER TABLE answers ADD COLUMN carried_terms TEXT NOT NULL DEFAULT '[]';"


# Each function returns the SQL of one step; append new steps, never edit old ones.
MIGRATIONS: list[Callable[[], str]] = [_initial, _admin_loop, _carried_terms]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Apply the missing steps, each in its own transaction; return the schema version."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        step = MIGRATIONS[version - 1]
        try:
            db.executescript(f"BEGIN;\n{step()}\nPRAGMA user_version = {version};\nCOMMIT;")
        except sqlite3.Error:
            if db.in_transaction:
                db.rollback()
            raise
    return SCHEMA_VERSION


class SchemaTooNew(Exception):
    """The database was written by a newer version of the bot."""

    def __init__(self, found: int) -> None:
        super().__init__(f"schema version {found} is newer than this bot knows ({SCHEMA_VERSION})")
        self.found = found
