"""The embedding model on and off, in one run: SQuAD answer quality, abstention, speed.

    python benchmarks/eval_embedding.py --split dev --fit --write   # fit Tuning.semantic (dev)
    python benchmarks/eval_embedding.py --split dev                 # dev, shipped tuning
    python benchmarks/eval_embedding.py --split heldout             # held-out: report only

Model off = the same engine and index without the model (lexical). In-KB questions use the
whole 48-article knowledge base; the abstention protocol removes a third of the split's
articles. Fitting (dev only) uses questions of seed 1, reports use seed 0, so the reported dev
figures are not read off the fitting sample. Held-out is never used to choose anything.
Reads /work/shared/data (or --data) and the installed model; exits 0 with one line if absent.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

from bot.core.answering.tuning import Tuning, default_tuning, write_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Semantics
from bot.embedding import load_encoder
from bot.evaluation.protocol import (
    Outcome,
    Row,
    open_engine,
    removed_articles,
    rule_of,
    run_engine,
    sample,
    score,
)
from bot.knowledge.vectors import cache_file, passage_vectors

DATA = Path("/work/shared/data")
MODELS = Path("data/models")
CACHE = Path("data/bench-cache")


def read_rows(path: Path) -> list[Row]:
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw]


def without(kb: KnowledgeBase, removed: set[str]) -> KnowledgeBase:
    return KnowledgeBase(tuple(a for a in kb.articles if Path(a.id).stem not in removed))


def with_semantic(tuning: Tuning, **update: float) -> Tuning:
    return tuning.model_copy(update={"semantic": tuning.semantic.model_copy(update=update)})


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(x: float) -> str:
    return f"{100 * x:5.1f} %"


def in_kb(rows: list[Row], outcomes: list[Outcome], tuning: Tuning) -> dict:
    shown = score(rows, outcomes, rule_of(tuning))
    never = score(rows, outcomes, rule_of(tuning.model_copy(update={"min_support": -math.inf})))
    return {
        "answer_hit": shown.answer_hit_rate,
        "answer_hit_no_abstention": never.answer_hit_rate,
        "first_citation_hit": shown.citation_hit_rate,
        "abstained": shown.abstention_rate,
        "mean_chars": shown.mean_answer_chars,
        "p50_ms": shown.latency_p50_ms,
        "p95_ms": shown.latency_p95_ms,
    }


def abstention(ins: list[Outcome], outs: list[Outcome], in_rows: list[Row], t: Tuning) -> dict:
    rule = rule_of(t)
    return {
        "out_abstained": sum(map(rule, outs)) / max(len(outs), 1),
        "in_wrongly_abstained": sum(map(rule, ins)) / max(len(ins), 1),
        "in_answer_hit": score(in_rows, ins, rule).answer_hit_rate,
    }


def fit_rerank(kb, config, index, semantics, rows) -> tuple[dict, list]:
    """Grid over how many sentences get a cosine, its weight and the dense fusion weight."""
    grid = []
    best_key, best = None, None
    for rerank, weight, dense in itertools.product((8, 16), (0.0, 0.5, 1.0, 1.5, 2.5), (0.0, 0.5)):
        if weight == 0.0 and rerank != 8:
            continue
        t = with_semantic(config.tuning, rerank_sentences=rerank, cosine_weight=weight,
                          dense_weight=dense)  # fmt: skip
        engine = open_engine(kb, EngineConfig(tuning=t), semantics, index)
        outcomes = run_engine(engine, rows, f"fit r{rerank} w{weight} d{dense}")
        figures = in_kb(rows, outcomes, t)
        point = {"rerank_sentences": rerank, "cosine_weight": weight, "dense_weight": dense,
                 "answer_hit": figures["answer_hit_no_abstention"],
                 "mean_chars": figures["mean_chars"]}  # fmt: skip
        grid.append(point)
        print(f"  rerank {rerank:2} weight {weight:3.1f} dense {dense:3.1f}: hit "
              f"{pct(point['answer_hit'])}, {point['mean_chars']:.0f} chars")  # fmt: skip
        # Ties go to the cheaper setting (fewer sentences embedded per question), then shorter.
        key = (round(point["answer_hit"], 4), -rerank, -point["mean_chars"])
        if best_key is None or key > best_key:
            best_key, best = key, point
    return best or {}, grid


def fit_abstention(
    ins: list[Outcome], outs: list[Outcome], in_rows: list[Row], tuning: Tuning, max_wrong: float
) -> tuple[dict, list]:
    """Veto and rescue cosines (min_support stays the lexical rule's).

    A veto is a hard edge, so only vetoes that abstain on no more in-KB questions than the same
    rescue without a veto count ("no regret"); among those, and within `max_wrong`, the most
    removed-article abstention net of in-KB abstention, then the highest in-KB hit.
    """
    curve = []
    for rescue in (2.0, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6):
        for veto in [-1.0, *np.arange(0.10, 0.50, 0.025).round(3)]:
            t = with_semantic(tuning, min_cosine=float(veto), rescue_cosine=rescue)
            curve.append({"min_cosine": float(veto), "rescue_cosine": rescue,
                          **abstention(ins, outs, in_rows, t)})  # fmt: skip
    unvetoed = {p["rescue_cosine"]: p["in_wrongly_abstained"] for p in curve if p["min_cosine"] < 0}
    ok = [
        p
        for p in curve
        if p["in_wrongly_abstained"] <= min(max_wrong, unvetoed[p["rescue_cosine"]]) + 1e-12
    ]
    best = max(
        ok,
        key=lambda p: (p["out_abstained"] - p["in_wrongly_abstained"], p["in_answer_hit"]),
        default={},
    )
    return best, curve


def user_words(path: Path, kb: KnowledgeBase, engines: dict[str, Engine]) -> dict:
    """Single-turn questions of a hand-written set in users' words (JSONL: category, turns
    with question and answers): answered with a gold answer, or for off_topic, abstained."""
    from bot.evaluation.metrics import contains_answer, strip_markers

    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    single = [r for r in raw if len(r["turns"]) == 1]
    out: dict = {}
    for name, engine in engines.items():
        right: dict[str, list[bool]] = {}
        for r in single:
            turn = r["turns"][0]
            answer = engine.answer(turn["question"])
            if r["category"] == "off_topic":
                ok = answer.abstained
            else:
                text = strip_markers(answer.answer)
                ok = not answer.abstained and contains_answer(text, tuple(turn["answers"]))
            right.setdefault(r["category"], []).append(ok)
        out[name] = {k: sum(v) / len(v) for k, v in right.items()} | {
            "questions": {k: len(v) for k, v in right.items()}
        }
    return out


def embed_speed(folder: Path, texts: list[str]) -> dict:
    """Sentences per second, fp32 and int8 graphs interleaved (same load on the machine)."""
    from bot.embedding.encoder import OnnxEncoder

    encoders = {"fp32": OnnxEncoder(folder, quantized=False), "int8": OnnxEncoder(folder)}
    rates: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(3):
        for name, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    return {k: max(v) for k, v in rates.items()} | {"texts": len(texts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--sample", type=int, default=300, help="questions per part")
    parser.add_argument("--fit", action="store_true", help="fit Tuning.semantic (dev only)")
    parser.add_argument("--write", action="store_true", help="write the fit to tuning.json")
    parser.add_argument(
        "--max-wrong",
        type=float,
        help="in-KB abstention allowed when fitting the veto (default: the lexical rule's own)",
    )
    parser.add_argument(
        "--rerank",
        type=float,
        nargs=3,
        metavar=("SENTENCES", "WEIGHT", "DENSE"),
        help="with --fit: take these re-ranking values instead of running the grid",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--user-words", type=Path, help="a JSONL set of questions in users' words")
    args = parser.parse_args(argv)
    if args.fit and args.split != "dev":
        parser.error("fitting is done on dev only")
    squad = args.data / "squad-v1.1"
    if not (squad / "knowledge").is_dir():
        print(f"SQuAD data not found under {args.data}; nothing to evaluate")
        return 0
    rss_before = rss_mib()
    started = time.perf_counter()
    state = load_encoder("default", MODELS)
    if state.encoder is None:
        print(state.notice)
        return 0
    results: dict = {"split": args.split, "sample": args.sample, "model": state.notice,
                     "model_load_s": time.perf_counter() - started,
                     "model_rss_mib": rss_mib() - rss_before}  # fmt: skip
    encoder = state.encoder
    kb = load_knowledge(squad / "knowledge")
    started = time.perf_counter()
    vectors = passage_vectors(kb, encoder, cache_file(CACHE, encoder))
    results["passage_vectors_s"] = time.perf_counter() - started
    results["passages"] = len(kb.passages)
    print(f"{state.notice}; loaded in {results['model_load_s']:.1f} s; {len(kb.passages)} "
          f"passage vectors in {results['passage_vectors_s']:.0f} s")  # fmt: skip

    rows_all = read_rows(squad / f"{args.split}.jsonl")
    tuning = default_tuning()
    config = EngineConfig(tuning=tuning)
    lexical = open_engine(kb, config)
    index = lexical.index

    if args.fit:
        fit_rows = sample(rows_all, args.sample, seed=1)
        semantics = Semantics(encoder, vectors)
        if args.rerank:
            sentences, weight, dense = args.rerank
            best = {"rerank_sentences": int(sentences), "cosine_weight": weight,
                    "dense_weight": dense}  # fmt: skip
        else:
            best, grid = fit_rerank(kb, config, index, semantics, fit_rows)
            results["fit_rerank"] = {"best": best, "grid": grid}
        tuning = with_semantic(tuning, **{k: best[k] for k in
                               ("rerank_sentences", "cosine_weight", "dense_weight")})  # fmt: skip
        config = EngineConfig(tuning=tuning)
        print(f"chosen: {best}")

    # 1. In-KB questions, whole knowledge base: model off and on, same questions.
    rows = sample(rows_all, args.sample, seed=0 if not args.fit else 1)
    off = run_engine(lexical, rows, "model off")
    semantics = Semantics(encoder, vectors)  # a cold sentence cache: latency as served
    on = run_engine(open_engine(kb, config, semantics, index), rows, "model on")
    results["in_kb"] = {"off": in_kb(rows, off, tuning), "on": in_kb(rows, on, tuning)}

    # 2. Removed-articles protocol.
    articles = sorted({r.article for r in rows_all if r.article})
    removed = set(removed_articles(articles))
    small = without(kb, removed)
    keep = [i for i, p in enumerate(kb.passages) if Path(p.article_id).stem not in removed]
    small_semantics = Semantics(encoder, vectors[keep])
    seed = 1 if args.fit else 0
    in_rows = sample([r for r in rows_all if r.article not in removed], args.sample, seed)
    out_rows = sample([r for r in rows_all if r.article in removed], args.sample, seed)
    lex_small = open_engine(small, config)
    sem_small = open_engine(small, config, small_semantics, lex_small.index)
    outs = {
        "off": (
            run_engine(lex_small, in_rows, "off in"),
            run_engine(lex_small, out_rows, "off out"),
        ),
        "on": (run_engine(sem_small, in_rows, "on in"), run_engine(sem_small, out_rows, "on out")),
    }
    if args.fit:
        lexical_wrong = abstention(*outs["off"], in_rows, default_tuning())["in_wrongly_abstained"]
        max_wrong = lexical_wrong if args.max_wrong is None else args.max_wrong
        best, curve = fit_abstention(*outs["on"], in_rows, tuning, max_wrong)
        results["fit_abstention"] = {"best": best, "curve": curve}
        print(f"abstention chosen: {best}")
        tuning = with_semantic(tuning, min_cosine=best["min_cosine"],
                               rescue_cosine=best["rescue_cosine"])  # fmt: skip
    lexical_tuning = default_tuning()
    results["abstention"] = {
        "removed_articles": sorted(removed),
        "off": abstention(*outs["off"], in_rows, lexical_tuning),
        "on": abstention(*outs["on"], in_rows, tuning),
    }
    results["in_kb"]["on"] = in_kb(rows, on, tuning)
    results["tuning_semantic"] = tuning.semantic.model_dump()
    results["min_support"] = tuning.min_support

    if args.user_words and args.user_words.is_file():
        bundled = load_knowledge(Path(__file__).resolve().parent.parent / "knowledge")
        both = KnowledgeBase((*kb.articles, *bundled.articles))
        both_semantics = Semantics(
            encoder, passage_vectors(both, encoder, cache_file(CACHE, encoder))
        )
        lexical_both = Engine(both, EngineConfig(tuning=lexical_tuning))
        engines = {
            "off": lexical_both,
            "on": Engine(both, EngineConfig(tuning=tuning), lexical_both.index, both_semantics),
        }
        for dense in (0.25, 0.5, 1.0):
            t = with_semantic(tuning, dense_weight=dense)
            engines[f"on, dense {dense}"] = Engine(
                both, EngineConfig(tuning=t), lexical_both.index, both_semantics
            )
        results["user_words"] = user_words(args.user_words, both, engines)
        print("\n## Questions in users' words (single turns; off_topic: abstained)")
        for name, figures in results["user_words"].items():
            shown = ", ".join(f"{k} {pct(v)}" for k, v in figures.items() if k != "questions")
            print(f"model {name}: {shown}")

    ms = [o.latency_ms for o in on]
    ls = [o.latency_ms for o in off]
    results["speed"] = {
        "per_question_ms_off": float(np.mean(ls)),
        "per_question_ms_on": float(np.mean(ms)),
        "ratio_on_off": float(np.mean(ms) / max(np.mean(ls), 1e-9)),
        "embed": embed_speed(MODELS / "all-MiniLM-L6-v2", [r.question for r in rows[:96]]),
        "max_rss_mib": rss_mib(),
    }
    a, i = results["abstention"], results["in_kb"]
    print(f"\n## SQuAD v1.1 {args.split}, {len(rows)} in-KB questions (whole KB)")
    for k in ("off", "on"):
        f = i[k]
        print(f"model {k:3}: hit {pct(f['answer_hit'])} (no abstention "
              f"{pct(f['answer_hit_no_abstention'])}), abstained {pct(f['abstained'])}, "
              f"{f['mean_chars']:.0f} chars, p50 {f['p50_ms']:.1f} ms")  # fmt: skip
    print(f"\n## Removed-articles protocol: {len(in_rows)} in-KB / {len(out_rows)} removed")
    for k in ("off", "on"):
        f = a[k]
        print(
            f"model {k:3}: removed abstained {pct(f['out_abstained'])}, in-KB wrongly "
            f"abstained {pct(f['in_wrongly_abstained'])}, in-KB hit {pct(f['in_answer_hit'])}"
        )
    print(f"\nspeed: {results['speed']}")
    if args.write and args.fit:
        fitted = dict(tuning.fitted)
        fitted["semantic"] = (
            f"benchmarks/eval_embedding.py --split dev --fit --sample {args.sample}: grid on "
            "dev questions of seed 1 (answer hit without abstention, then shorter), then veto "
            "and rescue cosines on the dev removed-articles protocol: most "
            f"removed-article abstention with in-KB abstention <= {100 * max_wrong:.1f} % "
            "(the lexical rule's on the same questions unless --max-wrong)"
        )
        write_tuning(tuning.model_copy(update={"fitted": fitted}))
        print("wrote bot/core/answering/tuning.json")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
