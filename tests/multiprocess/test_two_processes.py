"""Two bot processes (the `run` entry point, Discord's HTTP recorded) sharing one database.

Issue 15: 500 questions split between two processes by shard → 500 stored answers with
unique ids and their citations; a /reload in one → the other serves the new version within
2 s; on SQLite (WAL) no "database is locked" reaches a user; the password never in a log.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.store.target import DbTarget
from tests.multiprocess.conftest import QUESTIONS, ZEBRA, BotProcess
from tests.pg_server import PASSWORD
from tests.reliability.conftest import SAMPLE_KNOWLEDGE, figure

TOTAL = 500
BATCH = 50  # questions in flight at once in each process


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(SAMPLE_KNOWLEDGE, target)
    return target


@pytest.fixture
def pair(
    request: pytest.FixtureRequest, db_target: DbTarget, knowledge: Path, tmp_path: Path
) -> Iterator[tuple[BotProcess, BotProcess, DbTarget]]:
    """Two processes, shards 0 and 1 of 2, one knowledge folder, one database."""
    db = db_target.dsn if db_target.backend == "postgresql" else str(db_target.path)
    procs = [
        BotProcess(
            "--db",
            db,
            "--knowledge",
            knowledge,
            "--shard-ids",
            str(i),
            "--shard-count",
            "2",
            log=tmp_path / f"bot{i}.log",
        )
        for i in range(2)
    ]
    try:
        for p in procs:
            p.ready()
        yield procs[0], procs[1], db_target
    finally:
        for p in procs:
            p.stop()
        logs = "".join(p.log.read_text(errors="replace") for p in procs)
        assert PASSWORD not in logs  # 0 credentials in any log line
        assert "Traceback" not in logs, logs[-3000:]


def stored_rows(target: DbTarget) -> tuple[list[tuple[int, str, int]], dict[int, int]]:
    """(id, index_version, abstained) of every answer, and citation counts per answer."""
    if target.backend == "sqlite":
        with sqlite3.connect(target.path) as db:  # type: ignore[arg-type]
            rows = db.execute("SELECT id, index_version, abstained FROM answers").fetchall()
            cites = dict(db.execute("SELECT answer_id, count(*) FROM citations GROUP BY answer_id"))
        return rows, cites

    async def fetch() -> tuple[list[tuple[int, str, int]], dict[int, int]]:
        conn = await asyncpg.connect(target.dsn)
        try:
            rows = await conn.fetch("SELECT id, index_version, abstained FROM answers")
            cites = await conn.fetch("SELECT answer_id, count(*) FROM citations GROUP BY answer_id")
        finally:
            await conn.close()
        return [tuple(r) for r in rows], {r[0]: r[1] for r in cites}  # type: ignore[misc]

    return asyncio.run(fetch())


def test_two_processes_share_answers_and_follow_one_reload(
    pair: tuple[BotProcess, BotProcess, DbTarget], knowledge: Path
) -> None:
    """500 questions split between two processes: 500 rows, unique ids, citations stored;
    a reload in one process → the other answers from the new version within 2 s."""
    first, second, target = pair
    assert first.hello and second.hello
    assert first.hello["shards"] == "0 of 2" and second.hello["shards"] == "1 of 2"
    v1 = first.hello["version"]
    assert second.hello["version"] == v1
    answers = []
    started = time.perf_counter()
    for batch in range(TOTAL // (2 * BATCH)):
        questions = [QUESTIONS[(batch * BATCH + i) % len(QUESTIONS)] for i in range(BATCH)]
        user = 1_400_000_000_000_000_000 + batch * 1000
        first.send(op="ask", questions=questions, user=user)  # both processes at once
        second.send(op="ask", questions=questions, user=user + 500)
        answers += first.read()["answers"] + second.read()["answers"]
    seconds = time.perf_counter() - started
    errors = [a["error"] for a in answers if a["error"]]
    assert errors == []  # no "database is locked" (or anything else) reached a user
    ids = [a["answer_id"] for a in answers]
    assert len(ids) == TOTAL and None not in ids and len(set(ids)) == TOTAL
    rows, citations = stored_rows(target)
    assert sorted(r[0] for r in rows) == sorted(ids)
    answered = [r[0] for r in rows if not r[2]]
    assert answered and all(citations.get(i, 0) >= 1 for i in answered)
    assert {r[1] for r in rows} == {v1}

    (knowledge / "zebras.md").write_text(ZEBRA)
    reload_started = time.time()
    reloaded = first.request(op="reload")
    v2 = reloaded["version"]
    assert v2 != v1, reloaded["text"]
    followed = second.request(op="wait_version", version=v2, timeout=10)
    assert followed["ok"]
    lag = followed["at"] - reload_started
    (answer,) = second.request(op="ask", questions=["Who is the zebra keeper?"])["answers"]
    assert answer["version"] == v2 and "Olga Brant" in answer["text"]
    status = second.request(op="kb")["text"]
    assert "1 of 2" in status and v2 in status and PASSWORD not in status
    assert lag <= 2.0, lag
    figure(
        f"two processes on {target.backend}",
        f"{TOTAL} /ask in {seconds:.1f} s ({TOTAL / seconds:.0f}/s incl. Discord harness), "
        f"reload seen by the other process {lag * 1000:.0f} ms after the /reload was sent",
    )
