"""What the embedding model costs, with the lexical path measured in the same run.

    python benchmarks/bench_on_off.py [--questions 100] [--json out.json]

Through the product's own paths, BOT_EMBEDDING_MODEL=off vs the installed model:
- `QAService.ask` p50/p95 (SQLite store included) on the bundled article and on SQuAD's 48
  articles, off and on asked alternately, question by question (same load on the machine);
- the first start on SQuAD with no cached vectors (index built, every passage embedded);
- `python -m bot ask --json -` as a subprocess: start-up (no question) and answers/s;
- model load time and resident memory (fresh subprocesses); added install size.
Needs the installed model (`python -m bot model install`); SQuAD parts need /work/shared/data.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "data" / "models"
SQUAD = Path("/work/shared/data/squad-v1.1")
WORDS = ROOT / "benchmarks" / "data" / "user_words_dev.jsonl"
SETTINGS = {"off": "off", "on": "default"}


def bundled_questions() -> list[str]:
    rows = [json.loads(x) for x in WORDS.read_text(encoding="utf-8").splitlines() if x]
    return [r["turns"][0]["question"] for r in rows if not r["article"][0].isupper()]


def squad_questions(n: int) -> list[str]:
    rows = [json.loads(x) for x in (SQUAD / "dev.jsonl").read_text().splitlines() if x]
    return [r["question"] for r in random.Random(0).sample(rows, n)]


def settings(knowledge: Path, scratch: Path, model: str, cache: Path):
    from bot.settings import Settings

    return Settings(
        knowledge_dir=knowledge,
        db_path=scratch / f"{model}.sqlite3",
        index_cache_dir=cache,
        embedding_model=model,
        models_dir=MODELS,
        _env_file=None,  # type: ignore[call-arg]
    )


async def service_latency(knowledge: Path, questions: list[str], cache: Path) -> dict:
    """Both services open at once; each question asked of off then on."""
    from bot.service import QAService

    out: dict = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as scratch:
        services = {}
        for name, model in SETTINGS.items():
            started = time.perf_counter()
            services[name] = await QAService.start(
                settings(knowledge, Path(scratch), model, cache / name)
            )
            out[f"start_s_{name}"] = time.perf_counter() - started
        ms: dict[str, list[float]] = {k: [] for k in services}
        try:
            for q in questions:
                for name, service in services.items():
                    started = time.perf_counter()
                    await service.ask(q)
                    ms[name].append((time.perf_counter() - started) * 1000)
        finally:
            for service in services.values():
                await service.close()
    for name, values in ms.items():
        out[name] = {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
                     "mean_ms": statistics.fmean(values)}  # fmt: skip
    out["ratio_p50"] = out["on"]["p50_ms"] / out["off"]["p50_ms"]
    out["ratio_p95"] = out["on"]["p95_ms"] / out["off"]["p95_ms"]
    return out


def cli(knowledge: Path, model: str, cache: Path, db: Path, stdin: str) -> float:
    env = os.environ | {
        "BOT_EMBEDDING_MODEL": SETTINGS[model],
        "BOT_MODELS_DIR": str(MODELS),
        "BOT_INDEX_CACHE_DIR": str(cache / model),
        "PYTHONPATH": str(ROOT),
    }
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "ask",
            "--knowledge",
            str(knowledge),
            "--db",
            str(db),
            "--json",
            "-",
        ],
        input=stdin,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def cli_costs(knowledge: Path, questions: list[str], cache: Path, rounds: int) -> dict:
    """Start-up (empty input) and answers/s, off and on alternately; medians of `rounds`."""
    times: dict[str, dict[str, list[float]]] = {k: {"start": [], "batch": []} for k in SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(rounds):
            for name in SETTINGS:
                db = Path(scratch) / f"{name}-{i}.sqlite3"
                times[name]["start"].append(cli(knowledge, name, cache, db, ""))
                times[name]["batch"].append(cli(knowledge, name, cache, db, "\n".join(questions)))
    out: dict = {"questions": len(questions), "rounds": rounds}
    for name, t in times.items():
        start, batch = statistics.median(t["start"]), statistics.median(t["batch"])
        out[name] = {
            "startup_s": start,
            "batch_s": batch,
            "answers_per_s": len(questions) / batch,
            "answers_per_s_after_startup": len(questions) / max(batch - start, 1e-9),
        }
    return out


LOAD = """
import json, sys, time
from pathlib import Path
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
import bot.embedding as e
before = rss(); t = time.perf_counter()
state = e.load_encoder('default', Path(sys.argv[1]))
state.encoder.encode(['warm up'])
print(json.dumps({'load_s': time.perf_counter() - t, 'rss_mib': rss() - before}))
"""


def model_load(rounds: int) -> dict:
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", LOAD, str(MODELS)],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ | {"PYTHONPATH": str(ROOT)},
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for _ in range(rounds)
    ]
    return {k: statistics.median(r[k] for r in runs) for k in ("load_s", "rss_mib")}


def install_size() -> dict:
    def folder_mb(path: Path) -> float:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6

    def package_mb(name: str) -> float:
        files = importlib.metadata.distribution(name).files or []
        return (
            sum(Path(f.locate()).stat().st_size for f in files if Path(f.locate()).is_file()) / 1e6
        )

    packages = {n: package_mb(n) for n in ("onnxruntime", "onnx", "tokenizers", "safetensors")}
    model = MODELS / "all-MiniLM-L6-v2"
    files = {f.name: f.stat().st_size / 1e6 for f in model.iterdir() if f.is_file()}
    return {"packages_mb": packages, "packages_total_mb": sum(packages.values()),
            "model_files_mb": files, "model_total_mb": folder_mb(model)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench-cache" / "service")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/onoff-cost.json")
    args = parser.parse_args(argv)
    if not (MODELS / "all-MiniLM-L6-v2" / "INSTALLED").is_file():
        print("model not installed: run `python -m bot model install`")
        return 0
    results: dict = {"load_average_before": os.getloadavg()}
    results["model_load"] = model_load(args.rounds)
    print("model load:", results["model_load"])
    results["install"] = install_size()
    print("install:", results["install"]["packages_total_mb"], results["install"]["model_total_mb"])

    bundled = ROOT / "knowledge"
    bundled_cache = args.cache / "bundled"
    shutil.rmtree(bundled_cache, ignore_errors=True)  # first start cold, like a new install
    results["bundled"] = asyncio.run(service_latency(bundled, bundled_questions(), bundled_cache))
    print("bundled ask:", results["bundled"])
    if (SQUAD / "knowledge").is_dir():
        squad_cache = args.cache / "squad"
        shutil.rmtree(squad_cache, ignore_errors=True)  # cold: every passage embedded at start
        questions = squad_questions(args.questions)
        results["squad"] = asyncio.run(service_latency(SQUAD / "knowledge", questions, squad_cache))
        print("squad ask:", results["squad"])
        results["cli_squad"] = cli_costs(SQUAD / "knowledge", questions, squad_cache, args.rounds)
        print("cli squad:", results["cli_squad"])
    results["cli_bundled"] = cli_costs(bundled, bundled_questions(), bundled_cache, args.rounds)
    print("cli bundled:", results["cli_bundled"])
    results["load_average_after"] = os.getloadavg()
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
