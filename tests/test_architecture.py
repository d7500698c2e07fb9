"""ARCHITECTURE.md stays true: every package and module is on its map, and each package
imports only what the map allows (checked on the source with ast, not by importing)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BOT = REPO / "bot"
MAP = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")

# Which parts of `bot` each part may import (a part is the longest prefix listed here).
ALLOWED: dict[str, set[str]] = {
    "bot.core.text": {"bot.core.text"},
    "bot.core.storage": {"bot.core.storage"},
    "bot.core.articles": {"bot.core.articles", "bot.core.text", "bot.core.storage"},
    "bot.core.retrieval": {"bot.core.retrieval", "bot.core.storage", "bot.core.text"},
    "bot.core.answering": {"bot.core.answering", "bot.core.articles", "bot.core.text"},
    "bot.core.engine": {"bot.core"},
    "bot.core.requests": set(),
    "bot.knowledge": {"bot.knowledge", "bot.core", "bot.embedding", "bot.settings", "bot.errors"},
    "bot.embedding": {"bot.embedding", "bot.core.retrieval.dense", "bot.errors"},
    "bot.store": {"bot.store", "bot.core", "bot.errors"},
    "bot.results": {"bot.core"},
    "bot.inputs": {"bot.errors"},
    "bot.reports": {"bot.core", "bot.results"},
    "bot.service": {
        "bot.core",
        "bot.knowledge",
        "bot.store",
        "bot.results",
        "bot.settings",
        "bot.errors",
        "bot.admin",
        "bot.following",
        "bot.inputs",
        "bot.reports",
    },
    # Keeps the service on the published knowledge version; names QAService for typing.
    "bot.following": {"bot.errors", "bot.service"},
    # The service's admin half (reached as QAService.admin); it names QAService for typing.
    "bot.admin": {"bot.core", "bot.knowledge", "bot.settings", "bot.errors", "bot.service"},
    "bot.evaluation": {"bot.evaluation", "bot.core", "bot.service", "bot.errors"},
    "bot.cli": {
        "bot.cli",
        "bot.core",
        "bot.evaluation",
        "bot.service",
        "bot.results",
        "bot.settings",
        "bot.errors",
        "bot.redact",
        "bot.discord_ui.runner",  # `run` wiring: the one import between front ends
        "bot.embedding",  # `model install/status`: set-up before any service can start
    },
    "bot.discord_ui": {
        "bot.discord_ui",
        "bot.core.answering.answers",
        "bot.core.requests",
        "bot.service",
        "bot.results",
        "bot.settings",
        "bot.errors",
        "bot.redact",
    },
    # settings parses the database URL with the store's pure target module (no I/O)
    "bot.settings": {"bot.store.target", "bot.errors"},
    "bot.redact": {"bot.settings", "bot.store.target"},  # secrets out of log records
    "bot.errors": set(),
    "bot.__main__": {"bot.cli"},
    "bot": {"bot.settings", "bot.discord_ui.client"},  # bot/__init__.py: lazy create_bot
}

# Front-end imports of the store and the engine factory that issue 13 removes (every action
# through QAService). Delete a line when its import goes; the test fails on stale lines.
PENDING: set[tuple[str, str]] = set()

# What a front end never touches itself: it asks the service.
NOT_IN_FRONT_ENDS = {"bot.store", "bot.knowledge", "bot.core.articles.loader", "bot.core.retrieval"}

# Libraries that mean I/O or a front end: never in the core.
NOT_IN_CORE = {"discord", "aiosqlite", "asyncpg", "aiohttp", "asyncio", "sqlite3", "socket"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _part(module: str) -> str:
    return max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)


def _within(target: str, allowed: set[str]) -> bool:
    return any(target == a or target.startswith(a + ".") for a in allowed)


def test_every_package_and_module_is_on_the_map() -> None:
    """Each folder under bot/ and each module file is named in ARCHITECTURE.md."""
    missing = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(BOT)
        if path.name not in ("__init__.py",) and path.name not in MAP:
            missing.append(str(relative))
        for folder in relative.parents:
            if folder != Path(".") and f"{folder.as_posix()}/" not in MAP:
                missing.append(f"{folder.as_posix()}/")
    assert sorted(set(missing)) == []


def test_each_package_imports_only_what_the_map_allows() -> None:
    """No import across the layers beyond the allowed list (and the pending exceptions)."""
    wrong, used = [], set()
    for module, path in _modules().items():
        allowed = ALLOWED[_part(module)]
        for target in sorted(t for t in _imports(path) if t == "bot" or t.startswith("bot.")):
            front_end = module.startswith(("bot.cli", "bot.discord_ui"))
            if _within(target, allowed) and not (front_end and _within(target, NOT_IN_FRONT_ENDS)):
                continue
            if (module, target) in PENDING:
                used.add((module, target))
                continue
            wrong.append(f"{module} imports {target}")
    assert wrong == []
    assert sorted(PENDING - used) == [], "these imports are gone: remove them from PENDING"


@pytest.mark.parametrize("module", [m for m in _modules() if m.startswith("bot.core")])
def test_the_core_imports_no_front_end_database_or_event_loop(module: str) -> None:
    """The core is pure and synchronous: no discord.py, database driver, network or asyncio."""
    libraries = {name.split(".")[0] for name in _imports(_modules()[module])}
    assert libraries & NOT_IN_CORE == set()
