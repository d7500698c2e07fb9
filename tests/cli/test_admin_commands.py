"""`gaps`, `versions` and `rollback` on the command line, and `run --watch` wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import build_parser, main

NOTE = "---\ntitle: Harbour\n---\nThe harbour master Ingrid Solberg counted 41 ships.\n"


@pytest.fixture
def paths(knowledge_dir: Path, db_path: Path) -> list[str]:
    return ["--knowledge", str(knowledge_dir), "--db", str(db_path)]


def test_gaps_json_groups_rewordings_within_a_window(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`gaps --json --since 7d` prints one object: groups with counts, examples, when last
    asked and the closest passages, most frequent first."""
    for question in ["What is the capital of France?", "capital city of France", "Who won?"]:
        main(["ask", question, *paths])
    capsys.readouterr()
    assert main(["gaps", "--json", "--since", "7d", *paths]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["since"] == "7d" and report["questions"] == 3
    first = report["groups"][0]
    assert first["count"] == 2 and set(first["examples"]) == {
        "What is the capital of France?",
        "capital city of France",
    }
    assert first["last_asked"] and isinstance(first["closest"], list)
    assert main(["gaps", *paths]) == 0
    assert "asked 2×" in capsys.readouterr().out


def test_gaps_refuses_a_bad_window(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A window that is not like 7d/12h/2w is a usage error (exit 2), said in one line."""
    assert main(["gaps", "--since", "lately", *paths]) == 2
    assert "time span" in capsys.readouterr().err


def test_versions_and_rollback_restore_the_folder(
    paths: list[str], knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each load that changed the folder records a version; `rollback VERSION` restores its
    files and reloads; an unknown version changes nothing."""
    assert main(["versions", "--json", *paths]) == 0
    (start,) = json.loads(capsys.readouterr().out)["versions"]
    (knowledge_dir / "harbour.md").write_text(NOTE, encoding="utf-8")
    main(["ask", "How many ships did the harbour master count?", *paths])
    capsys.readouterr()
    assert main(["versions", *paths]) == 0
    listing = capsys.readouterr().out
    assert listing.index("<- folder now") < listing.index(start["id"])
    assert main(["rollback", start["id"], *paths]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert not (knowledge_dir / "harbour.md").exists()
    assert main(["rollback", "000000000000", *paths]) == 1
    assert "No knowledge base version" in capsys.readouterr().err


def test_run_accepts_watch() -> None:
    """`run --watch` is an option of `run` (the setting BOT_WATCH does the same)."""
    assert build_parser().parse_args(["run", "--watch"]).watch is True
