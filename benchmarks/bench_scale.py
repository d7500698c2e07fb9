"""The bot at scale, side by side with rank-bm25, in one run (issue 6).

Writes knowledge folders of real English (SQuAD sentences recombined, see bench_corpus.py)
at each size, then measures every figure in a fresh child process (so peak RSS is the
phase's own): cold build, start-up with the persisted index, search/answer latency,
``ask --json -`` throughput with answers stored, event-loop lag during a reload, and
exactness against rank_bm25.BM25Okapi on the engine's own token lists (okapi idf).

    python benchmarks/bench_scale.py                 # 10k and 100k passages
    python benchmarks/bench_scale.py --million       # and 1M (rank-bm25 extrapolated)
    python benchmarks/bench_scale.py --sizes 10000 --queries 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import questions, touch_one, write_knowledge

REPO = Path(__file__).resolve().parent.parent
RANK_BM25_MAX = 200_000  # above this, rank-bm25 is extrapolated linearly from the largest run


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_of(pid: int | str) -> int:
    """Resident KiB of a process (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeMemory:
    """Peak resident memory of this process plus its child processes (the analysis
    workers), sampled every 20 ms: ru_maxrss of children counts the parent's pages they
    shared at fork, so it cannot tell."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _children(self) -> list[str]:
        out: list[str] = []
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                out += (task / "children").read_text().split()
        return out

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            total = _rss_of("self") + sum(map(_rss_of, self._children()))
            self.peak_kib = max(self.peak_kib, total)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _settings(kb: Path, work: Path) -> Any:
    from bot.settings import Settings

    return Settings(
        knowledge_dir=kb,
        db_path=work / "bot.sqlite3",
        index_cache_dir=work / "index",
        idf="okapi",
    )


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# --- child phases: each prints one JSON object -----------------------------------------------


def child_build(kb: Path, work: Path) -> dict[str, Any]:
    """Cold build: load the folder, tokenise, index, persist (what `index` does)."""
    from bot.knowledge.factory import build_engine, load_knowledge_base

    settings = _settings(kb, work)
    with _TreeMemory() as tree:
        load_s, knowledge = _timed(lambda: load_knowledge_base(settings))
        build_s, engine = _timed(lambda: build_engine(knowledge, settings))
    return {
        "passages": engine.passage_count,
        "articles": len(knowledge.articles),
        "load_s": load_s,
        "build_s": build_s,
        "total_s": load_s + build_s,
        "rss_mib": _rss_mib(),
        # Analysis runs on worker processes: this process and its workers together.
        "tree_peak_mib": tree.peak_kib / 1024,
    }


def child_start(kb: Path, work: Path, n_questions: int) -> dict[str, Any]:
    """Start-up with the persisted index, then search/answer latency per question."""
    from bot.core.text.analysis import analyze
    from bot.knowledge.factory import build_engine, load_knowledge_base

    settings = _settings(kb, work)
    started = time.perf_counter()
    knowledge = load_knowledge_base(settings)
    loaded = time.perf_counter()
    engine = build_engine(knowledge, settings)
    ready = time.perf_counter()
    rss_start = _rss_mib()
    memory_start = _memory_split()
    qs = questions(n_questions, seed=1)
    engine.search(qs[0])
    analyse, index_search, engine_search, answer = [], [], [], []
    for q in qs:
        t0 = time.perf_counter()
        terms = analyze(q, names=False)  # as Engine.search analyses a query
        t1 = time.perf_counter()
        engine.index.search(terms, 10)
        t2 = time.perf_counter()
        engine.search(q, 10)
        t3 = time.perf_counter()
        engine.answer(q)
        t4 = time.perf_counter()
        analyse.append(t1 - t0)
        index_search.append(t2 - t1)
        engine_search.append(t3 - t2)
        answer.append(t4 - t3)
    warm = []
    for q in qs:  # second pass: sentence boundaries of these passages are cached now
        t0 = time.perf_counter()
        engine.answer(q)
        warm.append(time.perf_counter() - t0)
    ms = lambda xs: (1000 * _pct(xs, 0.5), 1000 * _pct(xs, 0.95))  # noqa: E731
    return {
        "memory_start": memory_start,
        "memory_end": _memory_split(),
        "load_s": loaded - started,
        "engine_s": ready - loaded,
        "startup_s": ready - started,
        "rss_start_mib": rss_start,
        "rss_mib": _rss_mib(),
        "analyze_ms": ms(analyse),
        "index_search_ms": ms(index_search),
        "engine_search_ms": ms(engine_search),
        "answer_ms": ms(answer),
        "answer_warm_ms": ms(warm),
    }


def child_service_start(kb: Path, work: Path) -> dict[str, Any]:
    """QAService.start with the persisted index: first on a new database (every passage is
    written to the store), then again (the steady state: only article hashes compared)."""
    from bot.service import QAService

    async def start() -> float:
        started = time.perf_counter()
        service = await QAService.start(_settings(kb, work))
        elapsed = time.perf_counter() - started
        await service.close()
        return elapsed

    first = asyncio.run(start())
    again = asyncio.run(start())
    return {"service_start_s": first, "service_restart_s": again, "rss_mib": _rss_mib()}


def _memory_split() -> dict[str, float]:
    """Resident memory now: private (anonymous) and file-backed (the mapped index), in MiB."""
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in {"RssAnon", "RssFile", "VmRSS"}:
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def child_rank_bm25(kb: Path, work: Path, n_questions: int) -> dict[str, Any]:
    """rank-bm25 on the engine's token lists: build, query time, and exactness vs the engine."""
    from rank_bm25 import BM25Okapi

    from bot.core.engine import Engine, passage_terms
    from bot.core.text.analysis import analyze
    from bot.knowledge.factory import build_engine, load_knowledge_base

    settings = _settings(kb, work)
    knowledge = load_knowledge_base(settings)
    articles = {a.id: a for a in knowledge.articles}
    tokenise_s, corpus = _timed(
        lambda: [passage_terms(articles[p.article_id], p) for p in knowledge.passages]
    )
    build_s, reference = _timed(lambda: BM25Okapi(corpus))
    rss = _rss_mib()
    corpus.clear()
    # The persisted okapi index, ranked by the Engine without its query expansion (an
    # answer-quality feature that adds related terms on purpose): that path must be exact.
    default = build_engine(knowledge, settings)
    exact = default.config.tuning.model_copy(update={"expansion_weight": 0.0})
    engine = Engine(knowledge, replace(default.config, tuning=exact), default.index)
    position = {p.id: i for i, p in enumerate(knowledge.passages)}
    qs = questions(n_questions, seed=1)
    times, max_diff, same_top, same_set = [], 0.0, 0, 0
    for q in qs:
        terms = analyze(q, names=False)  # as Engine.search analyses a query
        t0 = time.perf_counter()
        expected = reference.get_scores(terms)
        top_docs = np.argsort(expected)[::-1][:10]  # what get_top_n does
        times.append(time.perf_counter() - t0)
        actual = engine.index.get_scores(terms)
        max_diff = max(max_diff, float(np.max(np.abs(actual - expected), initial=0.0)))
        # Engine.search's top 10 against the oracle's: same score multiset, same order.
        hits = engine.search(q, 10)
        oracle = np.lexsort((np.arange(len(expected)), -expected))[: len(hits)]
        got = [h.score for h in hits]
        same_set += sorted(got) == sorted(expected[oracle].tolist()) and (
            len(hits) == min(10, int(np.count_nonzero(engine.index.matching(terms))))
        )
        same_top += [position[h.passage.id] for h in hits] == oracle.tolist()
        del top_docs
    return {
        "tokenise_s": tokenise_s,
        "build_s": build_s,
        "rss_mib": rss,
        "query_ms": (1000 * _pct(times, 0.5), 1000 * _pct(times, 0.95)),
        "max_abs_diff": max_diff,
        "same_top10_scores": same_set,
        "same_top10_order": same_top,
        "queries": len(qs),
    }


def child_reload(kb: Path, work: Path) -> dict[str, Any]:
    """Event-loop lag while a changed knowledge base is rebuilt and questions keep coming."""
    from bot.service import QAService

    async def main() -> dict[str, Any]:
        service = await QAService.start(_settings(kb, work))
        old_version = service.engine.version
        touch_one(kb)  # a different content hash: the reload is a full rebuild
        lags: list[float] = []
        answered: list[str] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(time.perf_counter() - before - 0.001)

        async def asker() -> None:
            qs = questions(200, seed=2)
            i = 0
            while not done.is_set():
                answer = await service.ask(qs[i % len(qs)])
                answered.append(answer.index_version)
                i += 1

        async def reload() -> Any:
            await asyncio.sleep(0.2)
            try:
                return await service.reload("bench")
            finally:
                done.set()

        tasks = [asyncio.create_task(probe()), asyncio.create_task(asker())]
        started = time.perf_counter()
        report = await reload()
        elapsed = time.perf_counter() - started
        await asyncio.gather(*tasks)
        await service.close()
        return {
            "reload_ok": report.ok,
            "reload_s": elapsed,
            "max_lag_ms": 1000 * max(lags),
            "p99_lag_ms": 1000 * _pct(lags, 0.99),
            "answered_during": len(answered),
            "answered_from_old": sum(v == old_version for v in answered),
            "rss_mib": _rss_mib(),
        }

    return asyncio.run(main())


def ask_throughput(kb: Path, work: Path, n_questions: int) -> dict[str, Any]:
    """Pipe questions into `python -m bot ask --json -`; rate between first and last line."""
    env = {
        **os.environ,
        "BOT_KNOWLEDGE_DIR": str(kb),
        "BOT_DB_PATH": str(work / "ask.sqlite3"),
        "BOT_INDEX_CACHE_DIR": str(work / "index"),
        "BOT_IDF": "okapi",
    }
    qs = questions(n_questions, seed=3)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write("".join(q.replace("\n", " ") + "\n" for q in qs))
    proc.stdin.close()
    stamps = []
    ids = []
    for line in proc.stdout:
        stamps.append(time.perf_counter())
        ids.append(json.loads(line).get("answer_id"))
    proc.wait()
    import sqlite3

    with sqlite3.connect(work / "ask.sqlite3") as db:
        stored = db.execute("SELECT count(*) FROM answers").fetchone()[0]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    return {
        "lines": len(stamps),
        "stored": stored,
        "first_line_s": stamps[0] - started if stamps else float("nan"),
        "qps": (len(stamps) - 1) / span,
        "total_s": stamps[-1] - started if stamps else float("nan"),
        "with_id": sum(i is not None for i in ids),
    }


# --- driver ---------------------------------------------------------------------------------


def _child(phase: str, kb: Path, work: Path, n_questions: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, str(kb), str(work), str(n_questions)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{phase} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_size(n: int, root: Path, n_questions: int, n_ask: int) -> dict[str, Any]:
    kb = root / f"kb-{n}"
    work = root / f"work-{n}"
    shutil.rmtree(work, ignore_errors=True)
    write_s, n_files = _timed(lambda: write_knowledge(kb, n, seed=n))
    print(f"[{n:,}] wrote {n_files:,} files in {write_s:.1f} s", file=sys.stderr)
    result: dict[str, Any] = {"n": n, "files": n_files}
    for phase in ("build", "start", "service_start"):
        result[phase] = _child(phase, kb, work, n_questions)
        print(f"[{n:,}] {phase}: {result[phase]}", file=sys.stderr)
    if n <= RANK_BM25_MAX:
        result["rank"] = _child("rank", kb, work, n_questions)
        print(f"[{n:,}] rank-bm25: {result['rank']}", file=sys.stderr)
    result["ask"] = ask_throughput(kb, work, n_ask)
    print(f"[{n:,}] ask: {result['ask']}", file=sys.stderr)
    result["reload"] = _child("reload", kb, work, n_questions)
    print(f"[{n:,}] reload: {result['reload']}", file=sys.stderr)
    return result


def _ratio(a: float, b: float) -> str:
    if not b:
        return "–"
    return f"{a / b:,.0f}×" if a / b >= 10 else f"{a / b:.2f}×"


def report(results: list[dict[str, Any]]) -> str:
    """Render the results as Markdown tables, ratios against rank-bm25 of the same run."""
    measured = [r for r in results if "rank" in r]
    lines = []
    for r in results:
        b, s, st, a, rl = r["build"], r["start"], r["service_start"], r["ask"], r["reload"]
        rank = r.get("rank")
        note = ""
        if rank is None and measured:
            base = measured[-1]
            f = r["build"]["passages"] / base["build"]["passages"]
            rank = {
                "tokenise_s": base["rank"]["tokenise_s"] * f,
                "build_s": base["rank"]["build_s"] * f,
                "rss_mib": base["rank"]["rss_mib"] * f,
                "query_ms": [x * f for x in base["rank"]["query_ms"]],
                "extrapolated": True,
            }
            note = f" (rank-bm25 extrapolated ×{f:.1f} from {base['n']:,}, not measured)"
        lines += [
            f"\n### {b['passages']:,} passages in {r['files']:,} files{note}\n",
            "| measure | rank-bm25 | this bot | ratio |",
            "|---|---|---|---|",
        ]
        if rank:
            rb_build = rank["tokenise_s"] + rank["build_s"]
            lines += [
                f"| build (tokenise + index) | {rank['tokenise_s']:.1f} + {rank['build_s']:.1f}"
                f" = {rb_build:.1f} s | {b['build_s']:.1f} s (+ load {b['load_s']:.1f} s) "
                f"| {_ratio(rb_build, b['build_s'])} as fast |",
                f"| peak RSS of the build | {rank['rss_mib']:,.0f} MiB | {b['rss_mib']:,.0f} MiB "
                f"({b.get('tree_peak_mib', 0):,.0f} MiB with its analysis workers, sampled) "
                f"| {rank['rss_mib'] / b['rss_mib']:.2f} |",
                f"| query p50 (top-10) | {rank['query_ms'][0]:.1f} ms | "
                f"{s['index_search_ms'][0]:.2f} ms index, {s['engine_search_ms'][0]:.2f} ms "
                f"Engine.search | {_ratio(rank['query_ms'][0], s['engine_search_ms'][0])} |",
                f"| query p95 (top-10) | {rank['query_ms'][1]:.1f} ms | "
                f"{s['index_search_ms'][1]:.2f} ms index, {s['engine_search_ms'][1]:.2f} ms "
                f"Engine.search | {_ratio(rank['query_ms'][1], s['engine_search_ms'][1])} |",
                f"| start-up with persisted index vs rank-bm25 build | {rb_build:.1f} s "
                f"| {s['startup_s']:.2f} s (load {s['load_s']:.2f} + engine {s['engine_s']:.2f}) "
                f"| {s['startup_s'] / rb_build:.3f} of it |",
            ]
            if not rank.get("extrapolated"):
                lines.append(
                    f"| exactness (okapi) | reference | max |Δ| {rank['max_abs_diff']:.1e}; top-10 "
                    f"scores {rank['same_top10_scores']}/{rank['queries']}, order "
                    f"{rank['same_top10_order']}/{rank['queries']} | – |"
                )
        lines += [
            f"| QAService.start (store sync included) | – | {st['service_start_s']:.2f} s | – |",
            f"| RSS after start-up | – | {s['rss_start_mib']:,.0f} MiB | – |",
            f"| resident memory after the questions | – | "
            f"{s['memory_end'].get('VmRSS', float('nan')):,.0f} MiB "
            f"({s['memory_end'].get('RssAnon', float('nan')):,.0f} private, "
            f"{s['memory_end'].get('RssFile', float('nan')):,.0f} mapped files) | – |",
            f"| QAService restart (steady state) | – | {st['service_restart_s']:.2f} s | – |",
            f"| Engine.answer p50 / p95 (cold sentences) | – | {s['answer_ms'][0]:.1f} / "
            f"{s['answer_ms'][1]:.1f} ms | – |",
            f"| Engine.answer p50 / p95 (warm) | – | {s['answer_warm_ms'][0]:.1f} / "
            f"{s['answer_warm_ms'][1]:.1f} ms | – |",
            f"| `ask --json -` throughput, answers stored | – | {a['qps']:.0f} questions/s "
            f"({a['stored']}/{a['lines']} stored; first line after {a['first_line_s']:.1f} s) "
            f"| – |",
            f"| event-loop lag during reload | – | max {rl['max_lag_ms']:.1f} ms, p99 "
            f"{rl['p99_lag_ms']:.1f} ms (reload {rl['reload_s']:.1f} s; "
            f"{rl['answered_from_old']}/{rl['answered_during']} answered from the old index) "
            f"| – |",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="add 1,000,000 passages")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ask", type=int, default=1000, help="questions piped into ask")
    parser.add_argument("--work", type=Path, help="keep the generated folders here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        phase, kb, work, n = args.child
        phases: dict[str, Callable[[], dict[str, Any]]] = {
            "build": lambda: child_build(Path(kb), Path(work)),
            "start": lambda: child_start(Path(kb), Path(work), int(n)),
            "service_start": lambda: child_service_start(Path(kb), Path(work)),
            "rank": lambda: child_rank_bm25(Path(kb), Path(work), int(n)),
            "reload": lambda: child_reload(Path(kb), Path(work)),
        }
        print(json.dumps(phases[phase]()))
        return
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    root = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = [run_size(n, root, args.queries, args.ask) for n in sizes]
    finally:
        if args.work is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    random.seed(0)
    main()
