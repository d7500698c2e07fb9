"""Fixtures of the knowledge adapter's tests: settings with a private cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.knowledge.factory import build_engine, load_knowledge_base
from bot.settings import Settings

QUESTIONS = [
    "Who is Armenia's defence minister?",
    "What missile system could Turkey buy?",
    "What is the capital of France?",
]


@pytest.fixture
def settings(knowledge_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        knowledge_dir=knowledge_dir,
        db_path=tmp_path / "data" / "bot.sqlite3",
        index_cache_dir=tmp_path / "index",
        _env_file=None,
    )


def engine_of(settings: Settings) -> Engine:
    return build_engine(load_knowledge_base(settings), settings)


def cache_files(settings: Settings) -> list[Path]:
    return sorted(settings.cache_dir.glob("*.npz"))


def answers(engine: Engine) -> list[tuple[str, bool, list[tuple[str, str, float]]]]:
    out = []
    for question in QUESTIONS:
        answer = engine.answer(question)
        out.append(
            (
                answer.answer,
                answer.abstained,
                [(c.passage_id, c.quote, c.score) for c in answer.citations],
            )
        )
    return out
