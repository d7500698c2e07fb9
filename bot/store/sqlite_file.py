"""Opening the SQLite file before any connection: refuse a missing folder, a damaged or newer
file; switch to WAL and migrate once, retrying while another process starting at the same
moment holds a lock SQLite does not wait for."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

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
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


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
