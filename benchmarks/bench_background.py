"""Start-up with the passage vectors computed in the background, beside the lexical path.

    python benchmarks/bench_background.py [--questions 40] [--json FILE]

On the 48-article SQuAD knowledge base (skipped when /work/shared/data is absent), each
phase in a fresh process (the model loads once per process), through `QAService` as the
bot runs it:

- *cold*: no index, no vector cache. Time from `QAService.start` to the first answer, model
  off vs on (same run: the ratio). With the model on, `ask` p50/p95 while the background job
  embeds (questions compete with it for the 2 cores), the time until the passage vectors are
  published (the dense path on) and until the sentences' vectors are too,
  then `ask` p50/p95 after (a different half of the same random sample of dev questions, so
  neither half finds its sentences cached).
- *cold, 1 thread*: the cold start with the model on again, the background embedding on one
  thread instead of BOT_EMBEDDING_THREADS' default 2 (the ratio of the times to ready).
- *warm*: the same data folders again (persisted index; vectors cached): time to the first
  answer, model off vs on, and whether any vector was recomputed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "all-MiniLM-L6-v2"
SQUAD = Path("/work/shared/data/squad-v1.1")
RESULTS = ROOT / "benchmarks" / "results" / "bench-background.json"


def percentiles(times: list[float]) -> dict[str, float]:
    if not times:
        return {}
    ordered = sorted(times)
    return {
        "n": len(times),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


async def phase(data: Path, model: str, questions: list[str], threads: int = 2) -> dict:
    """One start-up in this process: first answer, asks before/after the vectors are ready."""
    from bot.service import QAService
    from bot.settings import Settings

    settings = Settings(
        knowledge_dir=SQUAD / "knowledge",
        db_path=data / "bot.sqlite3",
        embedding_model=model,
        embedding_threads=threads,
        _env_file=None,
    )
    half = len(questions) // 2
    out: dict = {}
    started = time.perf_counter()
    service = await QAService.start(settings)
    out["start_s"] = round(time.perf_counter() - started, 3)

    def model_ready(_: object) -> None:
        out["model_ready_s"] = round(time.perf_counter() - started, 3)

    # The model loads in the background; questions are lexical until it is ready.
    asyncio.ensure_future(service.wait_for_model()).add_done_callback(model_ready)
    try:
        await service.ask(questions[0])
        out["first_answer_s"] = round(time.perf_counter() - started, 3)
        progress = service.vectors
        out["pending_at_start"] = progress is not None
        out["vectors_at_first_answer"] = progress.done if progress else None
        before: list[float] = []
        for question in questions[1 : half + 1]:
            if (progress := service.vectors) is None or progress.state != "embedding":
                break
            asked = time.perf_counter()
            await service.ask(question)
            before.append((time.perf_counter() - asked) * 1000)
        out["ask_before_ready_ms"] = percentiles(before)
        # Passages are embedded first and published: the dense path is on from then.
        semantics = service.engine.semantics
        while semantics is not None and semantics.pending and service.vectors is not None:
            if service.vectors.state != "embedding":
                break
            await asyncio.sleep(0.2)
        if semantics is not None and semantics.passage_vectors is not None:
            out.setdefault("dense_ready_s", round(time.perf_counter() - started, 1))
        done = await service.wait_for_vectors()
        if done is not None:
            out["vectors_ready_s"] = round(time.perf_counter() - started, 1)
            out["vectors"] = {"done": done.done, "total": done.total, "state": done.state}
            semantics = service.engine.semantics
            if semantics is not None and semantics.sentences is not None:
                out["sentences_stored"] = len(semantics.sentences)
        after: list[float] = []
        for question in questions[half + 1 :]:
            asked = time.perf_counter()
            await service.ask(question)
            after.append((time.perf_counter() - asked) * 1000)
        out["ask_ready_ms"] = percentiles(after)
        out["status"] = (await service.status()).embedding
    finally:
        await service.close()
    return out


def run_phase(data: Path, model: str, questions: list[str], threads: int = 2) -> dict:
    """The phase in a fresh interpreter (as a bot start would be)."""
    code = (
        "import asyncio, json, sys; sys.path.insert(0, 'benchmarks'); "
        "import bench_background as b; "
        "a = json.loads(sys.stdin.read()); "
        "print(json.dumps(asyncio.run(b.phase(b.Path(a[0]), a[1], a[2], a[3]))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([str(data), model, questions, threads]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=40, help="asked before + after ready")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (SQUAD / "knowledge").is_dir():
        print(f"skipped: {SQUAD} is absent")
        return 0
    if not (MODEL / "INSTALLED").is_file():
        print("skipped: run `python -m bot model install` first")
        return 0
    rows = [json.loads(line) for line in (SQUAD / "dev.jsonl").open(encoding="utf-8")]
    questions = [r["question"] for r in random.Random(7).sample(rows, args.questions + 1)]
    results: dict = {"load_average_before": os.getloadavg(), "questions": args.questions}
    with tempfile.TemporaryDirectory() as scratch:
        for mode in ("cold", "warm"):
            for label, model in (("off", "off"), ("on", str(MODEL))):
                data = Path(scratch) / label
                data.mkdir(exist_ok=True)
                results[f"{mode}_{label}"] = run_phase(data, model, questions)
                print(mode, label, json.dumps(results[f"{mode}_{label}"]), flush=True)
        # The background job's thread count (BOT_EMBEDDING_THREADS, default 2) against one
        # thread, from the same cold start, in the same run.
        data = Path(scratch) / "on-1-thread"
        data.mkdir()
        results["cold_on_1_thread"] = run_phase(data, str(MODEL), questions, threads=1)
        print("cold on, 1 thread", json.dumps(results["cold_on_1_thread"]), flush=True)
    for mode in ("cold", "warm"):
        off, on = results[f"{mode}_off"], results[f"{mode}_on"]
        results[f"{mode}_first_answer_ratio_on_vs_off"] = round(
            on["first_answer_s"] / off["first_answer_s"], 2
        )
    results["vectors_ready_ratio_2_vs_1_thread"] = round(
        results["cold_on"]["vectors_ready_s"] / results["cold_on_1_thread"]["vectors_ready_s"], 2
    )
    results["load_average_after"] = os.getloadavg()
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if "ratio" in k}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
