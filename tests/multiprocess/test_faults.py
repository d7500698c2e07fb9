"""Faults across processes: starting together on an empty database, kill -9 and a
PostgreSQL restart in the middle of a stream, bad URLs and passwords at start-up."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import subprocess
import threading
import time
from pathlib import Path

import asyncpg

from bot.service import QAService
from bot.settings import Settings
from bot.store import Store
from bot.store.base import UNAVAILABLE
from bot.store.target import DbTarget
from tests.multiprocess.conftest import QUESTIONS
from tests.pg_server import PASSWORD, PgServer
from tests.reliability.conftest import Cli, bot_command, clean_env, figure
from tests.reliability.conftest import cli as cli  # the fixture, shared
from tests.reliability.test_crash_durability import kill_once

ROUNDS = 20


def _start_once(settings: Settings, barrier: object, errors: object) -> None:
    """A child process: wait for its twin, then start the service (migrate, sync, publish)."""

    async def start() -> None:
        async with await QAService.start(settings):
            pass

    barrier.wait(timeout=30)  # type: ignore[attr-defined]
    try:
        asyncio.run(start())
    except Exception as exc:  # reported to the test, which fails on it
        errors.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


async def _empty(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def test_processes_starting_together_on_an_empty_database_all_start(
    db_target: DbTarget, knowledge_dir: Path, tmp_path: Path
) -> None:
    """Two processes started at the same moment on an empty database, 20 times: every
    start succeeds (migrations and the knowledge sync take the lock), one schema."""
    context = multiprocessing.get_context("fork")
    failures: list[str] = []
    started = time.perf_counter()
    for round_ in range(ROUNDS):
        if db_target.backend == "sqlite":
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None, knowledge_dir=knowledge_dir, db_path=tmp_path / f"r{round_}.db"
            )
        else:
            asyncio.run(_empty(db_target.dsn))
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                knowledge_dir=knowledge_dir,
                db_path=tmp_path / "data" / "unused",
                db_url=db_target.dsn,
            )
        barrier, errors = context.Barrier(2), context.Queue()
        children = [
            context.Process(target=_start_once, args=(settings, barrier, errors)) for _ in range(2)
        ]
        for child in children:
            child.start()
        for child in children:
            child.join(timeout=60)
            assert child.exitcode == 0
        while not errors.empty():
            failures.append(errors.get())

        async def check(target: DbTarget) -> tuple[int, list[str]]:
            async with await Store.open(target) as store:
                return len((await store.snapshot()).articles), await store.integrity()

        articles, problems = asyncio.run(check(settings.database))
        assert articles >= 1 and problems == []
    assert failures == []
    figure(
        f"concurrent start on {db_target.backend}",
        f"{ROUNDS} rounds of 2 processes on an empty database: 0 failures, "
        f"{time.perf_counter() - started:.1f} s",
    )


def stored(url: str, ids: list[int]) -> dict[int, tuple[str, int]]:
    async def fetch() -> dict[int, tuple[str, int]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                """SELECT a.id, a.question, count(c.n) FROM answers a
                   LEFT JOIN citations c ON c.answer_id = a.id
                   WHERE a.id = ANY($1::bigint[]) GROUP BY a.id""",
                ids,
            )
        finally:
            await conn.close()
        return {r[0]: (r[1], r[2]) for r in rows}

    return asyncio.run(fetch())


def integrity(url: str) -> list[str]:
    async def check() -> list[str]:
        async with await Store.open(url) as store:
            return await store.integrity()

    return asyncio.run(check())


def test_kill_9_on_postgres_loses_no_acknowledged_answer(
    pg_url: str, knowledge_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL mid-stream (6 times): every acknowledged answer is stored with its
    citations, and the consistency checks stay clean."""
    acks: list[dict] = []
    for i in range(6):
        run = kill_once(knowledge_dir, pg_url, tmp_path, 0.05 * i, mid_stream=True)  # type: ignore[arg-type]
        acks += run.acks
    assert acks
    rows = stored(pg_url, [a["answer_id"] for a in acks])
    lost = [
        a["answer_id"]
        for a in acks
        if rows.get(a["answer_id"]) != (a["question"], len(a["citations"]))
    ]
    assert lost == [] and len({a["answer_id"] for a in acks}) == len(acks)
    assert integrity(pg_url) == []
    figure("kill -9 on PostgreSQL", f"6 kills, {len(acks)} acknowledged answers, 0 lost")


def test_postgres_restart_mid_stream(
    pg_server: PgServer, pg_url: str, knowledge_dir: Path, tmp_path: Path
) -> None:
    """PostgreSQL stopped and started under a stream: questions meanwhile get the short
    error (never an answer id), the pool reconnects by itself, no acknowledged answer lost,
    and the log says so in a few readable lines (no traceback, no password)."""
    proc = subprocess.Popen(
        bot_command("ask", "--json", "-", "--knowledge", knowledge_dir, "--db", pg_url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.stdin and proc.stdout and proc.stderr
    lines: list[dict] = []
    seen_at: list[float] = []
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            proc.stdin.write((QUESTIONS[i % len(QUESTIONS)] + "\n").encode())  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            i += 1
            time.sleep(0.01)
        proc.stdin.close()  # type: ignore[union-attr]

    def read() -> None:
        for raw in iter(proc.stdout.readline, b""):  # type: ignore[union-attr]
            seen_at.append(time.monotonic())
            lines.append(json.loads(raw))

    threads = [threading.Thread(target=feed), threading.Thread(target=read)]
    for t in threads:
        t.start()

    def wait_for(count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(lines) < count:
            assert time.monotonic() < deadline, f"only {len(lines)} lines"
            time.sleep(0.01)

    wait_for(30)
    pg_server.stop("fast")
    down_at = time.monotonic()  # the server is gone (pg_ctl -w)
    time.sleep(1.5)
    up_at = time.monotonic()  # not started yet
    pg_server.start()
    up_from = len(lines)
    wait_for(up_from + 30)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.wait(timeout=30)

    acks = [line for line in lines if line["answer_id"] is not None]
    errors = [line for line in lines if line["answer_id"] is None and line.get("error")]
    assert errors and all(e["error"] == UNAVAILABLE for e in errors)
    # answered lines written after the server was gone and before it was started: none
    # (0.1 s of grace for a line already on its way through the pipe)
    while_down = [
        line for line, at in zip(lines, seen_at, strict=False) if down_at + 0.1 < at < up_at
    ]
    assert while_down and all(line["answer_id"] is None for line in while_down)
    assert any(line["answer_id"] for line in lines[up_from:])  # resumed without a restart
    rows = stored(pg_url, [a["answer_id"] for a in acks])
    assert all(rows.get(a["answer_id"], ("", -1))[0] == a["question"] for a in acks)
    assert integrity(pg_url) == []
    assert proc.returncode == 1  # some lines got an error row
    assert "Traceback" not in stderr and PASSWORD not in stderr
    log_lines = [line for line in stderr.splitlines() if line.strip()]
    assert 1 <= len(log_lines) <= 6, stderr
    figure(
        "PostgreSQL restart mid-stream",
        f"{len(acks)} answers acknowledged and all stored, {len(errors)} questions got "
        f"{UNAVAILABLE!r} while it was down, {len(log_lines)} log lines",
    )


def test_bad_url_or_password_is_one_line_and_exit_2(pg_url: str, cli: Cli) -> None:
    """Wrong password, malformed URL, unknown scheme: one line, exit code 2, no password."""
    head, _, tail = pg_url.partition("@")
    wrong = head.replace(PASSWORD, "not-" + PASSWORD) + "@" + tail
    for url in (wrong, f"postgresql://kbbot:{PASSWORD}@127.0.0.1:notaport/db", "mysql://x/y"):
        result = cli("ask", "--json", "Who?", "--db", url)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert PASSWORD not in result.stderr + result.stdout
    # `run` checks the database before logging in to Discord
    done = subprocess.run(
        bot_command("run", "--db", wrong),
        capture_output=True,
        text=True,
        env=clean_env() | {"DISCORD_TOKEN": "MTIz.not-a-real.token"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "refused the login" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and PASSWORD not in done.stderr
