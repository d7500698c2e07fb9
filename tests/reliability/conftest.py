"""Helpers for the reliability matrix: run the real CLI in a subprocess, build settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KNOWLEDGE = REPO / "knowledge"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def clean_env() -> dict[str, str]:
    """The environment without our settings, so a developer's BOT_* or token cannot leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BOT_") and k not in {"DISCORD_TOKEN", "PYTHONIOENCODING"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def bot_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "bot", *map(str, args)]


Cli = Callable[..., CliResult]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Run `python -m bot ARGS` in a scratch folder (no .env there) and capture everything."""

    def run(*args: str | Path, stdin: bytes | str = b"", timeout: float = 60) -> CliResult:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        started = time.perf_counter()
        done = subprocess.run(
            bot_command(*args),
            input=data,
            capture_output=True,
            cwd=tmp_path,
            env=clean_env(),
            timeout=timeout,
            check=False,
        )
        return CliResult(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
            time.perf_counter() - started,
        )

    return run


@pytest.fixture
def sample_knowledge(tmp_path: Path) -> Path:
    """A private copy of the bundled one-article knowledge base."""
    target = tmp_path / "knowledge"
    shutil.copytree(SAMPLE_KNOWLEDGE, target)
    return target


def make_settings(knowledge: Path, db: Path) -> Settings:
    """Settings for a test: explicit paths, no `.env`, nothing from the environment's BOT_*."""
    return Settings(_env_file=None, knowledge_dir=knowledge, db_path=db)  # type: ignore[call-arg]


def figure(name: str, text: str) -> None:
    """Print a measured figure (seen with `pytest -s`; docs/reliability.md quotes them)."""
    print(f"\n[figure] {name}: {text}")
