"""Opening the SQLite file before any connection (refuse a missing folder, a damaged or newer
file; switch to WAL and migrate once), and retrying what SQLite answers "locked" at once
without waiting: another process starting at the same moment, or a stale read snapshot."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.errors import StoreError
from bot.store.migrations import SCHEMA_VERSION, SchemaTooNew, migrate

BUSY_TIMEOUT_MS = 5_000
T = TypeVar("T")


def probe(path: Path) -> None:
    """Refuse at once a database that cannot be opened at all, or is newer (nothing written)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {path.parent}: {exc.strerror}") from None
    if path.exists() and not path.is_file():
        raise StoreError(f"database path {path} is not a file")
    try:  # SQLite keeps its -wal and -shm files beside the database: the folder must take files
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        reason = f"cannot create files in {path.parent} ({exc.strerror})"
        raise StoreError(f"cannot use database {path}: {reason}") from None

    def read_version() -> int:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    try:
        found = _patiently(read_version)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use database {path}: {exc}") from None
    if found > SCHEMA_VERSION:
        raise StoreError(f"database {path}: {SchemaTooNew(found)}; upgrade the bot")


def _patiently(step: Callable[[], T]) -> T:
    """Run `step`, again while another process holds a lock SQLite does not wait for itself
    (switching to WAL, or the WAL index being set up by a process starting at the same
    moment answer "locked" at once), for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not _is_lock(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def _is_lock(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


async def transaction_patiently(step: Callable[[], Awaitable[T]], db: aiosqlite.Connection) -> T:
    """Run a write transaction, again while SQLite answers "locked" without waiting: a read
    of this connection still open when the write began holds a snapshot that another
    process's commit made stale (SQLITE_BUSY_SNAPSHOT), which the busy timeout never waits
    out. Each failed attempt is rolled back whole, so a retry cannot store anything twice."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return await step()
        except sqlite3.OperationalError as exc:
            await db.rollback()
            if not _is_lock(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.02)


def prepare(path: Path) -> None:
    """Open synchronously once: refuse a corrupt or newer file, then migrate."""
    probe(path)
    try:
        _patiently(lambda: _check_and_migrate(path))
    except SchemaTooNew as exc:
        raise StoreError(f"database {path}: {exc}; upgrade the bot") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use database {path}: {exc}") from None


def _check_and_migrate(path: Path) -> None:
    """Refuse a damaged or newer file, switch to WAL, apply the missing migrations."""
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
        ok = db.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise StoreError(f"database {path} is damaged ({ok}); restore a backup or move it")
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:  # before switching to WAL: a refused file stays untouched
            raise SchemaTooNew(found)
        db.execute("PRAGMA journal_mode=WAL")
        migrate(db)
