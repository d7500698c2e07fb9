"""Shared fixtures: the bundled knowledge folder and the public evaluation data (if present)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.embedding.files import default_model_dir, is_installed
from bot.store.target import DbTarget
from tests.pg_server import PgServer, unavailable_reason

REPO = Path(__file__).resolve().parent.parent
BUNDLED_KNOWLEDGE = REPO / "knowledge"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled knowledge base, safe to modify."""
    target = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, target)
    return target


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
def damaged_db(db_path: Path) -> Path:
    """A real database with some pages overwritten: it opens, but its integrity check fails."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(db_path)) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,) for _ in range(2000)])
        db.commit()
    data = bytearray(db_path.read_bytes())
    data[5 * 4096 : 8 * 4096] = b"\xff" * (3 * 4096)
    db_path.write_bytes(bytes(data))
    return db_path


@pytest.fixture(scope="session")
def squad_dir() -> Path:
    path = SHARED_DATA / "squad-v1.1"
    if not (path / "knowledge").is_dir():
        pytest.skip("shared SQuAD data is not available here")
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session, started here and removed at the end."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    server = PgServer().init()
    yield server
    server.destroy()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the session's server (URL with the password)."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, db_path: Path) -> DbTarget:
    """Each store test runs on SQLite (always) and on PostgreSQL (when it can be started)."""
    if request.param == "sqlite":
        return DbTarget.parse(db_path)
    url = request.getfixturevalue("pg_url")
    return DbTarget.parse(url)


MODEL_DIR = default_model_dir(REPO / "data" / "models")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The model `python -m bot model install` put in the repo's data/models (CI installs it;
    there a missing model fails the tests that need it, elsewhere they are skipped)."""
    if not is_installed(MODEL_DIR):
        message = f"embedding model not installed in {MODEL_DIR}: run `python -m bot model install`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return MODEL_DIR
