"""Several bot processes on one database: stored answers/s and reload propagation (issue 15).

In one run, on this machine:
  * throughput: N = 1, 2, 4 processes of `python -m bot ask --json -` share one database
    (SQLite file in WAL mode, then PostgreSQL started here from the Debian binaries); each
    gets the same number of questions after a warm-up answer; answers/s = answers stored
    (checked in the database) / wall time from the first question sent to the last line;
    ratios against 1 process on SQLite measured in the same run;
  * reload propagation: N = 2 and 4 bot processes (the `run` entry point with Discord's HTTP
    recorded, tests/multiprocess/bot_process.py) on each backend; one /reload adds an
    article; time from the /reload sent until each other process serves the new version.

    python benchmarks/bench_processes.py                      # bundled knowledge
    python benchmarks/bench_processes.py --questions 400 --knowledge DIR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.multiprocess.conftest import QUESTIONS, ZEBRA, BotProcess  # noqa: E402
from tests.pg_server import PgServer, unavailable_reason  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")} | {"PYTHONUNBUFFERED": "1"}


def stored_count(db: str) -> int:
    if not db.startswith("postgresql://"):
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM answers").fetchone()[0])

    async def count() -> int:
        conn = await asyncpg.connect(db)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM answers"))
        finally:
            await conn.close()

    return asyncio.run(count())


def throughput(db: str, knowledge: Path, processes: int, questions: int, cwd: Path) -> float:
    """Stored answers per second from `processes` concurrent `ask --json -` streams."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "ask",
                "--json",
                "-",
                "--knowledge",
                str(knowledge),
                "--db",
                db,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env=ENV,
        )
        for _ in range(processes)
    ]
    for p in procs:  # warm-up: started, index loaded, one answer stored
        assert p.stdin and p.stdout
        p.stdin.write((QUESTIONS[0] + "\n").encode())
        p.stdin.flush()
    for p in procs:
        assert p.stdout is not None
        json.loads(p.stdout.readline())
    before = stored_count(db)
    counts = [0] * processes

    def drain(i: int, p: subprocess.Popen[bytes]) -> None:
        assert p.stdout is not None
        for line in p.stdout:
            counts[i] += json.loads(line)["answer_id"] is not None

    readers = [threading.Thread(target=drain, args=(i, p)) for i, p in enumerate(procs)]
    for r in readers:
        r.start()
    batch = "".join(QUESTIONS[i % len(QUESTIONS)] + "\n" for i in range(questions)).encode()
    started = time.perf_counter()
    writers = [threading.Thread(target=_write_all, args=(p, batch)) for p in procs]
    for w in writers:
        w.start()
    for r in readers:
        r.join()
    seconds = time.perf_counter() - started
    for p in procs:
        p.wait(timeout=60)
    stored = stored_count(db) - before
    assert stored == sum(counts) == processes * questions, (stored, counts)
    return stored / seconds


def _write_all(p: subprocess.Popen[bytes], data: bytes) -> None:
    assert p.stdin is not None
    p.stdin.write(data)
    p.stdin.close()


def propagation(db: str, knowledge: Path, processes: int, logs: Path) -> list[float]:
    """Seconds from a /reload sent to one process until each other one serves its version."""
    bots = [
        BotProcess(
            "--db",
            db,
            "--knowledge",
            knowledge,
            "--shard-ids",
            str(i),
            "--shard-count",
            str(processes),
            log=logs / f"bot{processes}-{i}.log",
        )
        for i in range(processes)
    ]
    try:
        for b in bots:
            b.ready()
        (knowledge / f"zebras-{processes}-{time.time_ns()}.md").write_text(ZEBRA)
        sent = time.time()
        version = bots[0].request(op="reload")["version"]
        for b in bots[1:]:
            b.send(op="wait_version", version=version, timeout=30)
        results = [b.read() for b in bots[1:]]
        assert all(r["ok"] for r in results), results
        return [r["at"] - sent for r in results]
    finally:
        for b in bots:
            b.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=300, help="per process")
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; median kept")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="bench-proc-"))
    # PostgreSQL twice: as deployed (every commit flushed to disk: survives a power cut), and
    # without fsync (commits reach the OS, like SQLite's WAL with synchronous=NORMAL: they
    # survive a killed process, not a power cut) — the like-for-like comparison.
    servers: dict[str, PgServer] = {}
    reason = unavailable_reason()
    if reason is None:
        servers["postgresql (fsync)"] = PgServer(durable=True).init()
        servers["postgresql (no fsync)"] = PgServer(durable=False).init()
    else:
        print(f"PostgreSQL skipped: {reason}")

    def database(backend: str, name: str) -> str:
        server = servers.get(backend)
        return server.create_database() if server else str(scratch / f"{name}.sqlite3")

    try:
        backends = ["sqlite", *servers]
        configs = [(b, n) for b in backends for n in counts]
        rates: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
        for i in range(args.repeat):  # configurations interleaved: the load drifts over time
            for backend, n in configs:
                db = database(backend, f"tp-{n}-{i}")
                rate = throughput(db, args.knowledge, n, args.questions, scratch)
                rates[(backend, n)].append(rate)
                print(f"throughput {backend} x{n} run {i + 1}: {rate:.0f} answers/s", flush=True)
        base = rates[("sqlite", 1)]
        lags = []
        for backend in backends:
            for n in (c for c in counts if c > 1):
                knowledge = scratch / f"kb-{len(lags)}"
                shutil.copytree(args.knowledge, knowledge)
                seen = propagation(database(backend, f"rl-{n}"), knowledge, n, scratch)
                lags.append((backend, n, seen))
                print(f"reload {backend} x{n}: {[round(s * 1000) for s in seen]} ms", flush=True)
        print()
        print(
            f"Machine: {os.cpu_count()} CPU cores, load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; "
            f"{args.questions} questions per process, {args.repeat} runs."
        )
        print()
        print("| backend | processes | stored answers/s (median) | × 1 process on SQLite |")
        print("| --- | --- | ---: | ---: |")
        for backend, n in configs:
            runs = rates[(backend, n)]
            # each run's ratio (the same minute's load), then the median of those
            ratio = statistics.median(r / b for r, b in zip(runs, base, strict=True))
            print(f"| {backend} | {n} | {statistics.median(runs):,.0f} | {ratio:.2f} |")
        print()
        print("| backend | processes | reload seen by each other process (ms after /reload) |")
        print("| --- | --- | --- |")
        for backend, n, seen in lags:
            print(f"| {backend} | {n} | {', '.join(f'{s * 1000:.0f}' for s in seen)} |")
    finally:
        for server in servers.values():
            server.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
