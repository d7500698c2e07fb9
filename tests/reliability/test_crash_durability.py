"""Crashes and durability: kill -9 mid-stream loses no acknowledged answer; bad files refused.

Issue 7, row 3. `ask --json -` prints a line only after its answer is committed, so every
answer_id read from its stdout is an acknowledgement that must survive any kill.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.conftest import Cli, bot_command, clean_env, figure

KILLS = 24
QUESTIONS = [
    "Who is the president of Turkey?",
    "What is the capital of France?",
    "When did Turkey receive its first S-400 shipment?",
    "Who is Armenia's defence minister?",
    "Which fighter jet program was Turkey removed from?",
    "How do I bake bread?",
    "Which TV channel interviewed the president of Azerbaijan?",
    "who is armenias prime minister",
]


@dataclass
class Run:
    acks: list[dict] = field(default_factory=list)
    partial: int = 0  # a line cut by the kill: not an acknowledgement
    answering: threading.Event = field(default_factory=threading.Event)


def _feed(stdin, stop: threading.Event) -> None:
    """Keep the bot busy: questions until it dies."""
    i = 0
    try:
        while not stop.is_set():
            stdin.write((QUESTIONS[i % len(QUESTIONS)] + "\n").encode())
            stdin.flush()
            i += 1
            if i % 50 == 0:
                time.sleep(0.005)
    except (BrokenPipeError, OSError, ValueError):
        pass


def _read(stdout, run: Run) -> None:
    for raw in iter(stdout.readline, b""):
        if raw.endswith(b"\n"):
            run.acks.append(json.loads(raw))
            run.answering.set()
        else:
            run.partial += 1


def kill_once(knowledge: Path, db: Path, cwd: Path, delay: float, mid_stream: bool) -> Run:
    """Start the stream; SIGKILL it `delay` s after start, or after its first answer."""
    proc = subprocess.Popen(
        bot_command("ask", "--json", "-", "--knowledge", knowledge, "--db", db),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env=clean_env(),
    )
    run = Run()
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(proc.stdin, stop), daemon=True)
    reader = threading.Thread(target=_read, args=(proc.stdout, run), daemon=True)
    feeder.start()
    reader.start()
    if mid_stream:
        run.answering.wait(timeout=30)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stop.set()
    reader.join(timeout=10)
    feeder.join(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            pipe.close()
    assert proc.returncode == -signal.SIGKILL
    return run


def test_kill_9_repeatedly_loses_no_acknowledged_answer(
    sample_knowledge: Path, tmp_path: Path, cli: Cli
):
    """≥ 20 SIGKILLs at random moments: integrity ok, every acknowledged answer stored whole."""
    db = tmp_path / "data" / "bot.sqlite3"
    rnd = random.Random(20240607)
    acks: list[dict] = []
    partial = 0
    killed_at_start = 0
    started = time.perf_counter()
    for i in range(KILLS):
        # Every fourth kill lands during start-up (opening, migrating, syncing the knowledge
        # base); the others at a random moment of the answer stream.
        at_start = i % 4 == 0
        delay = rnd.uniform(0.02, 0.4) if at_start else rnd.uniform(0.0, 0.3)
        run = kill_once(sample_knowledge, db, tmp_path, delay, mid_stream=not at_start)
        acks += run.acks
        partial += run.partial
        killed_at_start += not run.acks
    seconds = time.perf_counter() - started

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = conn.execute("SELECT count(*) FROM answers").fetchone()[0]
        lost = []
        for ack in acks:
            row = conn.execute(
                "SELECT question, answer, abstained FROM answers WHERE id = ?", (ack["answer_id"],)
            ).fetchone()
            cites = conn.execute(
                'SELECT n, passage_id, quote, start, "end" FROM citations '
                "WHERE answer_id = ? ORDER BY n",
                (ack["answer_id"],),
            ).fetchall()
            expected = [
                (c["n"], c["passage_id"], c["quote"], c["start"], c["end"])
                for c in ack["citations"]
            ]
            if row != (ack["question"], ack["answer"], int(ack["abstained"])) or cites != expected:
                lost.append(ack["answer_id"])
    assert acks, "no answer was acknowledged: the kills came too early to test anything"
    assert len({a["answer_id"] for a in acks}) == len(acks)  # ids never reused after a crash
    assert any(a["citations"] for a in acks)
    assert lost == []

    # The database is still fully usable after all that.
    after = cli(
        "ask", "--json", QUESTIONS[0], "--knowledge", sample_knowledge, "--db", db, timeout=60
    )
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["answer_id"] > max(a["answer_id"] for a in acks)
    figure(
        "kill -9",
        f"{KILLS} kills survived ({killed_at_start} before the first answer), "
        f"{len(acks)} acknowledged answers checked "
        f"({sum(bool(a['citations']) for a in acks)} with citations), {stored} rows stored, "
        f"{partial} half-written lines ignored, rows lost = {len(lost)}, {seconds:.1f} s",
    )


# --- database files that must be refused at start ------------------------------------------


def _one_line_error(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def real_db(cli: Cli, sample_knowledge: Path, tmp_path: Path) -> Path:
    """A database written by the bot itself, with enough answers to span many pages."""
    db = tmp_path / "real" / "bot.sqlite3"
    stream = "\n".join(QUESTIONS * 10) + "\n"
    result = cli("ask", "--json", "-", "--knowledge", sample_knowledge, "--db", db, stdin=stream)
    assert result.returncode == 0, result.stderr
    return db


@pytest.mark.parametrize("command", ["ask", "index"])
def test_garbage_database_is_refused_unchanged(
    cli: Cli, sample_knowledge: Path, tmp_path: Path, command: str
):
    """A file of random bytes: one-line error, exit 4, the file untouched (never reset)."""
    db = tmp_path / "garbage.sqlite3"
    db.write_bytes(random.Random(3).randbytes(64 * 1024))
    before = db.read_bytes()
    args = ["ask", "--json", "Who?"] if command == "ask" else ["index"]
    result = cli(*args, "--knowledge", sample_knowledge, "--db", db)
    _one_line_error(result, "not a database")
    assert result.returncode == 4
    assert db.read_bytes() == before
    assert not db.with_name(db.name + "-wal").exists()


@pytest.mark.parametrize("keep", [0.5, 0.1, 100])
def test_truncated_database_is_refused_unchanged(
    cli: Cli, sample_knowledge: Path, real_db: Path, keep: float
):
    """A real database cut short (half, a tenth, only part of its header) is refused as is."""
    size = real_db.stat().st_size
    cut = int(size * keep) if keep < 1 else int(keep)
    with real_db.open("r+b") as f:
        f.truncate(cut)
    before = real_db.read_bytes()
    result = cli("ask", "--json", "Who?", "--knowledge", sample_knowledge, "--db", real_db)
    _one_line_error(result, str(real_db.name))
    assert result.returncode == 4
    assert real_db.read_bytes() == before


@pytest.mark.parametrize("wal", [True, False])
def test_newer_schema_is_refused_unchanged(
    cli: Cli, sample_knowledge: Path, real_db: Path, tmp_path: Path, wal: bool
):
    """`PRAGMA user_version` above what the code knows: refused, the file not even touched."""
    db = real_db
    if not wal:  # as another tool would leave it: rollback journal, not WAL
        db = tmp_path / "other.sqlite3"
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db.read_bytes()
    result = cli("ask", "--json", "Who?", "--knowledge", sample_knowledge, "--db", db)
    _one_line_error(result, "schema version 99 is newer")
    assert result.returncode == 4
    assert db.read_bytes() == before


def test_database_path_that_is_a_folder_is_refused(
    cli: Cli, sample_knowledge: Path, tmp_path: Path
):
    """A folder where the database file should be: one-line error."""
    db = tmp_path / "a-folder.sqlite3"
    db.mkdir()
    result = cli("ask", "--json", "Who?", "--knowledge", sample_knowledge, "--db", db)
    _one_line_error(result, "not a file")


def test_locked_database_at_start_is_a_clear_error_not_a_hang(
    cli: Cli, sample_knowledge: Path, tmp_path: Path
):
    """Another process holds an exclusive lock (rollback journal): error after the busy timeout."""
    db = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        result = cli("ask", "--json", "Who?", "--knowledge", sample_knowledge, "--db", db)
    finally:
        holder.close()
    _one_line_error(result, "database is locked")
    assert result.returncode == 4
    figure("locked database at start", f"refused after {result.seconds:.1f} s")


def test_locked_database_mid_stream_gives_error_lines_then_recovers(
    cli: Cli, sample_knowledge: Path, real_db: Path
):
    """A WAL database locked by a writer: each question gets an error object, nothing hangs."""
    holder = sqlite3.connect(real_db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = cli(
            "ask", "--json", "-", "--knowledge", sample_knowledge, "--db", real_db,
            stdin=QUESTIONS[0] + "\n",
        )  # fmt: skip
    finally:
        holder.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stdout.splitlines()
    obj = json.loads(line)
    assert obj["answer_id"] is None and "database is locked" in obj["error"]
    # Shown only once stored: the refused answer is not shown, and the lock's end heals all.
    again = cli("ask", "--json", QUESTIONS[0], "--knowledge", sample_knowledge, "--db", real_db)
    assert again.returncode == 0 and json.loads(again.stdout)["answer_id"]
    figure("locked database mid-stream", f"error line after {result.seconds:.1f} s")
