"""Shared fixtures: the bundled knowledge folder and the public evaluation data (if present)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def squad_dir() -> Path:
    path = SHARED_DATA / "squad-v1.1"
    if not (path / "knowledge").is_dir():
        pytest.skip("shared SQuAD data is not available here")
    return path
