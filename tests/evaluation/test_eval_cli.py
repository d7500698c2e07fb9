"""`python -m bot eval` end to end on a temporary knowledge folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ROWS = [
    # Answered, from the right article, gold inside the first quote.
    {
        "question": "Who is Armenia's defence minister?",
        "answers": ["Arshak Karapetyan"],
        "title": "Russia Says Turkey Could Sign New S-400 Missile Contract Soon",
    },
    # Answered, gold spelled without accents.
    {
        "question": "Which TV channel interviewed the president of Azerbaijan?",
        "answers": ["CNN Turk"],
    },
    # Off-topic: abstained, counts as a miss.
    {"question": "What is the capital of France?", "answers": ["Paris"]},
    # Answered, but the gold answer is not in the article: a miss.
    {"question": "When did Turkey get its first S-400 delivery?", "answers": ["1066"]},
]


def run_eval(tmp_path: Path, knowledge_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DISCORD_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "eval",
            str(rows),
            "--knowledge",
            str(knowledge_dir),
            "--db",
            str(tmp_path / "eval.sqlite3"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=clean,
    )


def test_eval_json_figures(tmp_path: Path, knowledge_dir: Path) -> None:
    """The JSON report gives hit, first-citation hit, article, abstention, length, latency."""
    done = run_eval(tmp_path, knowledge_dir, "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["questions"] == 4
    assert report["answer_hit_rate"] == 0.5
    assert report["citation_hit_rate"] == 0.5
    assert report["right_article_rate"] == 1.0  # only the first row names its article
    assert report["abstention_rate"] == 0.25
    assert 0 < report["mean_answer_chars"] <= 450
    assert report["latency_p95_ms"] >= report["latency_p50_ms"] > 0


def test_eval_text_report(tmp_path: Path, knowledge_dir: Path) -> None:
    """The text report names each figure."""
    done = run_eval(tmp_path, knowledge_dir, "--no-progress")
    assert done.returncode == 0, done.stderr
    for label in ("answer hit rate", "first-citation hit", "abstention rate", "latency"):
        assert label in done.stdout


def test_eval_refuses_a_file_without_questions(tmp_path: Path, knowledge_dir: Path) -> None:
    """A malformed row is a one-line error and a non-zero exit, not a traceback."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"answers": ["x"]}\n', encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DISCORD_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "eval",
            str(bad),
            "--knowledge",
            str(knowledge_dir),
            "--db",
            str(tmp_path / "x.sqlite3"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=clean,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
