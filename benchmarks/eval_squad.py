"""Answer quality on SQuAD as a knowledge base, beside the rank-bm25 baseline, in one run.

    python benchmarks/eval_squad.py --split dev --sample 800
    python benchmarks/eval_squad.py --split heldout --sample 1000 --v2 --service 200 --json out.json

Reads /work/shared/data (or --data); exits cleanly (code 0, one line) when it is absent.
Figures: in-KB answer hit / first-citation hit / right article / abstention / length /
latency; the removed-articles abstention protocol with the trade-off curve of the rule; and
abstention on SQuAD v2.0 unanswerable questions. Thresholds are only ever chosen on dev.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import EngineConfig
from bot.evaluation.baseline import Baseline
from bot.evaluation.dataset import read_rows
from bot.evaluation.metrics import percentile
from bot.evaluation.protocol import (
    Figures,
    Row,
    as_answered,
    open_engine,
    operating_point,
    removed_articles,
    rule_of,
    run_baseline,
    run_engine,
    sample,
    score,
    tradeoff,
)

DATA = Path("/work/shared/data")


def read_raw(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def to_rows(raw: list[dict]) -> list[Row]:
    return [Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw]


def article_key(article_id: str) -> str:
    return Path(article_id).stem


def without(kb: KnowledgeBase, removed: set[str]) -> KnowledgeBase:
    return KnowledgeBase(tuple(a for a in kb.articles if article_key(a.id) not in removed))


def fmt(f: Figures) -> list[str]:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:5.1f} %"

    return [
        pct(f.answer_hit_rate),
        pct(f.citation_hit_rate),
        pct(f.right_article_rate),
        pct(f.answered_right_article_rate),
        pct(f.abstention_rate),
        f"{f.mean_answer_chars:5.0f}",
        f"{f.latency_p50_ms:.1f} / {f.latency_p95_ms:.1f}",
    ]


def print_table(title: str, named: dict[str, Figures]) -> None:
    heads = [
        "answer hit",
        "1st-cite hit",
        "right art.",
        "(answered)",
        "abstained",
        "chars",
        "p50/p95 ms",
    ]
    print(f"\n## {title} ({next(iter(named.values())).questions} questions)")
    print(f"{'':10}" + "".join(f"{h:>13}" for h in heads))
    for name, f in named.items():
        print(f"{name:10}" + "".join(f"{c:>13}" for c in fmt(f)))


def service_latency(knowledge: Path, questions: list[str], config: EngineConfig) -> dict:
    """Ask through the real service path (loading, SQLite store) and time each answer."""
    from bot.service import QAService
    from bot.settings import Settings

    async def go() -> list[float]:
        with tempfile.TemporaryDirectory() as scratch:
            settings = Settings(
                knowledge_dir=knowledge,
                db_path=Path(scratch) / "eval.sqlite3",
                idf=config.idf_mode,
                _env_file=None,  # type: ignore[call-arg]
            )
            async with await QAService.start(settings) as service:
                out = []
                for q in questions:
                    started = time.perf_counter()
                    await service.ask(q)
                    out.append((time.perf_counter() - started) * 1000)
                return out

    wall = asyncio.run(go())
    return {
        "questions": len(wall),
        "ask_p50_ms": percentile(wall, 50),
        "ask_p95_ms": percentile(wall, 95),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--sample", type=int, default=800, help="questions per part (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--idf", choices=["lucene", "okapi"], default="lucene")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-abstention", action="store_true", help="skip removed-articles run")
    parser.add_argument("--v2", action="store_true", help="also SQuAD v2.0 unanswerable questions")
    parser.add_argument("--service", type=int, default=0, help="time N questions via QAService")
    parser.add_argument("--curve", action="store_true", help="print the whole trade-off curve")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    n = args.sample or None

    squad = args.data / "squad-v1.1"
    if not (squad / "knowledge").is_dir():
        print(f"SQuAD data not found under {args.data}; nothing to evaluate")
        return 0
    config = EngineConfig(idf_mode=args.idf)
    tuning = config.tuning
    rule = rule_of(tuning)
    results: dict = {
        "split": args.split,
        "sample": args.sample,
        "seed": args.seed,
        "idf": args.idf,
        "tuning": tuning.model_dump(mode="json", exclude={"reasons", "fitted"}),
    }

    kb = load_knowledge(squad / "knowledge")
    titles = {a.id: a.title for a in kb.articles}
    rows_all = read_rows(squad / f"{args.split}.jsonl")  # as `python -m bot eval` reads them

    # 1. In-KB questions against the whole knowledge base.
    rows = sample(rows_all, n, args.seed)
    started = time.perf_counter()
    engine = open_engine(kb, config)
    results["build_s"] = time.perf_counter() - started
    outcomes = run_engine(engine, rows)
    table = {"engine": score(rows, outcomes, rule)}
    if not args.no_baseline:
        base = run_baseline(Baseline(kb), rows, titles)
        table["baseline"] = score(rows, base, as_answered)
    print_table(f"SQuAD v1.1 {args.split}: in-KB questions, whole knowledge base", table)
    results["in_kb"] = {k: asdict(v) for k, v in table.items()}

    # 2. Removed-articles protocol.
    if not args.no_abstention:
        split_articles = sorted({r.article for r in rows_all if r.article})
        removed = set(removed_articles(split_articles))
        small = without(kb, removed)
        in_rows = sample([r for r in rows_all if r.article not in removed], n, args.seed)
        out_rows = sample([r for r in rows_all if r.article in removed], n, args.seed)
        engine = open_engine(small, config)
        in_out = run_engine(engine, in_rows, "in-KB")
        out_out = run_engine(engine, out_rows, "removed")
        points = tradeoff(
            in_rows, in_out, out_out, tuning, thresholds=[x / 10 for x in range(-30, 31)]
        )
        best = operating_point(points)
        current_in = score(in_rows, in_out, rule)
        current_out = score(out_rows, out_out, rule)
        print(
            f"\n## Removed-articles protocol: {len(removed)} of {len(split_articles)} "
            f"{args.split} articles removed; {len(in_rows)} in-KB, {len(out_rows)} removed"
        )
        print(
            f"current rule (support score ≥ {tuning.min_support}): removed-article questions "
            f"abstained {100 * current_out.abstention_rate:.1f} %; in-KB wrongly abstained "
            f"{100 * current_in.abstention_rate:.1f} %; in-KB answer hit "
            f"{100 * current_in.answer_hit_rate:.1f} %"
        )
        print("  baseline: never abstains (0.0 % / 0.0 %)")
        print("trade-off (min_support → removed abstained / in-KB wrongly abstained / in-KB hit):")
        for p in points:
            if args.curve or 0.005 <= p.in_wrongly_abstained <= 0.2:
                print(
                    f"  {p.min_support:+.1f}  → {100 * p.out_abstained:5.1f} % /"
                    f" {100 * p.in_wrongly_abstained:5.1f} % / {100 * p.in_answer_hit_rate:5.1f} %"
                )
        if best:
            print(
                f"best with ≤ 5 % in-KB wrongly abstained: min_support {best.min_support} → "
                f"{100 * best.out_abstained:.1f} % / {100 * best.in_wrongly_abstained:.1f} %"
            )
        results["abstention"] = {
            "removed_articles": sorted(removed),
            "current": {
                "out_abstained": current_out.abstention_rate,
                "in_wrongly_abstained": current_in.abstention_rate,
                "in_answer_hit_rate": current_in.answer_hit_rate,
            },
            "curve": [asdict(p) for p in points],
            "best_at_5pct": asdict(best) if best else None,
        }

    # 3. SQuAD v2.0 unanswerable questions.
    v2 = args.data / "squad-v2.0"
    if args.v2 and (v2 / "knowledge").is_dir():
        raw = read_raw(v2 / f"{args.split}.jsonl")
        impossible = sample(
            [Row(r["question"], (), r["article"]) for r in raw if r.get("is_impossible")],
            n,
            args.seed,
        )
        possible = sample(to_rows([r for r in raw if not r.get("is_impossible")]), n, args.seed)
        engine = open_engine(load_knowledge(v2 / "knowledge"), config)
        imp = run_engine(engine, impossible, "v2 impossible")
        pos = run_engine(engine, possible, "v2 answerable")
        pos_fig = score(possible, pos, rule)
        imp_rate = sum(map(rule, imp)) / max(len(imp), 1)
        print(
            f"\n## SQuAD v2.0 {args.split}: unanswerable abstained {100 * imp_rate:.1f} % "
            f"({len(imp)}); answerable wrongly abstained {100 * pos_fig.abstention_rate:.1f} %,"
            f" answer hit {100 * pos_fig.answer_hit_rate:.1f} % ({len(pos)}); baseline 0 %"
        )
        results["v2"] = {"unanswerable_abstained": imp_rate, "answerable": asdict(pos_fig)}

    if args.service:
        lat = service_latency(
            squad / "knowledge", [r.question for r in rows[: args.service]], config
        )
        print(
            f"\n## Service path (QAService.ask incl. SQLite): {lat['questions']} questions, "
            f"p50 {lat['ask_p50_ms']:.1f} ms, p95 {lat['ask_p95_ms']:.1f} ms"
        )
        results["service"] = lat

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
