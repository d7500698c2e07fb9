"""Every quality figure of issue 14 with the embedding model on and off, side by side, one run.

    python benchmarks/eval_on_off.py squad --split dev --sample 300      # SQuAD v1.1
    python benchmarks/eval_on_off.py squad --split heldout --sample 300  # held-out: report only
    python benchmarks/eval_on_off.py v2 --split dev --sample 300         # SQuAD v2.0 (and heldout)
    python benchmarks/eval_on_off.py words                               # users'-words dev set
    python benchmarks/eval_on_off.py scifact                             # Engine.search on/off

Model off = the same engine and index without the model (what BOT_EMBEDDING_MODEL=off
serves); model on = the installed all-MiniLM-L6-v2 (int8) with the shipped `tuning.json`;
"on_before" = model on with the previous abstention rule (lexical score + cosine veto and
rescue), scored on the same recorded answers (SQuAD parts) or asked again (users' words).
Nothing is fitted here. Each part writes `benchmarks/results/onoff-<part>[-<split>].json`;
`benchmarks/plot_on_off.py` draws the plots from them. Reads /work/shared/data (or --data)
and the installed model; exits 0 with one line when either is absent.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bot.core.answering.tuning import Tuning, default_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine, EngineConfig
from bot.core.retrieval.dense import Encoder, Semantics, SentenceVectors
from bot.embedding import load_encoder
from bot.evaluation.conversations import by_category, read_conversations, run_conversations
from bot.evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from bot.evaluation.protocol import (
    Outcome,
    Row,
    open_engine,
    removed_articles,
    rule_of,
    run_engine,
    sample,
    score,
    tradeoff,
)
from bot.knowledge.vectors import cache_file, stored_vectors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")
MODELS = ROOT / "data" / "models"
CACHE = ROOT / "data" / "bench-cache"
RESULTS = ROOT / "benchmarks" / "results"
THRESHOLDS = [x / 10 for x in range(-30, 41)]
# "on_before": the model on with the previous abstention rule (lexical score, cosine veto at
# 0.35 and rescue at 0.6) scored on the same recorded outcomes as "on" (the fitted score).
MODES = ("off", "on_before", "on")


def before(tuning: Tuning) -> Tuning:
    """The shipped tuning with the previous model-on abstention rule (no fitted score)."""
    return tuning.model_copy(
        update={"semantic": tuning.semantic.model_copy(update={"support_weights": {}})}
    )


def curve(in_rows: list[Row], ins: list[Outcome], outs: list[Outcome], tuning: Tuning,
          name: str) -> list[dict]:  # fmt: skip
    """The trade-off swept over the rule's threshold: the fitted score's `semantic.min_support`
    for "on", the lexical `min_support` otherwise."""
    if name != "on" or not tuning.semantic.support_weights:
        return [asdict(p) for p in tradeoff(in_rows, ins, outs, tuning, THRESHOLDS)]
    points = []
    for t in THRESHOLDS:
        swept = tuning.model_copy(
            update={"semantic": tuning.semantic.model_copy(update={"min_support": t})}
        )
        rule = rule_of(swept)
        hit = score(in_rows, ins, rule).answer_hit_rate
        points.append({"min_support": t, "out_abstained": sum(map(rule, outs)) / len(outs),
                       "in_wrongly_abstained": sum(map(rule, ins)) / len(ins),
                       "in_answer_hit_rate": hit})  # fmt: skip
    return points


def read_raw(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def without(kb: KnowledgeBase, removed: set[str]) -> KnowledgeBase:
    return KnowledgeBase(tuple(a for a in kb.articles if Path(a.id).stem not in removed))


EMBED_S: dict[str, float] = {}


def semantics_for(kb: KnowledgeBase, encoder: Encoder, name: str) -> Semantics:
    """Passage and sentence vectors cached per knowledge base (a cache file holds one base's
    passages)."""
    started = time.perf_counter()
    stored = stored_vectors(kb, encoder, cache_file(CACHE / name, encoder))
    EMBED_S[name] = time.perf_counter() - started  # cold: every passage embedded
    return Semantics(encoder, stored.passages, sentences=stored.sentences)


def semantics_without(kb: KnowledgeBase, semantics: Semantics, removed: set[str]) -> Semantics:
    """The same vectors with the removed articles' passages left out (no re-embedding)."""
    assert semantics.passage_vectors is not None
    keep = [i for i, p in enumerate(kb.passages) if Path(p.article_id).stem not in removed]
    return Semantics(
        semantics.encoder, semantics.passage_vectors[keep], sentences=semantics.sentences
    )


def figures(rows: list[Row], outcomes: list[Outcome], tuning: Tuning) -> dict:
    f = score(rows, outcomes, rule_of(tuning))
    return {
        "answer_hit": f.answer_hit_rate,
        "first_citation_hit": f.citation_hit_rate,
        "right_article_answered": f.answered_right_article_rate,
        "abstained": f.abstention_rate,
        "mean_chars": f.mean_answer_chars,
        "p50_ms": f.latency_p50_ms,
        "p95_ms": f.latency_p95_ms,
    }


def pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f} %"


def squad(args: argparse.Namespace, encoder: Encoder, tuning: Tuning) -> dict:
    """SQuAD v1.1 (whole KB; removed-articles protocol with its trade-off curves) and v2.0."""
    rule = rule_of(tuning)
    config = EngineConfig(tuning=tuning)
    root = args.data / "squad-v1.1"
    kb = load_knowledge(root / "knowledge")
    rows_all = [Row(r["question"], tuple(r["answers"]), r["article"])
                for r in read_raw(root / f"{args.split}.jsonl")]  # fmt: skip
    out: dict = {"split": args.split, "sample": args.sample, "seed": args.seed}

    rows = sample(rows_all, args.sample, args.seed)
    lexical = open_engine(kb, config)
    full = semantics_for(kb, encoder, "squad-v1.1")
    semantic = open_engine(kb, config, full, lexical.index)
    on = run_engine(semantic, rows, "v1.1 on")
    out["in_kb"] = {
        "questions": len(rows),
        "off": figures(rows, run_engine(lexical, rows, "v1.1 off"), tuning),
        "on_before": figures(rows, on, before(tuning)),
        "on": figures(rows, on, tuning),
    }

    articles = sorted({r.article for r in rows_all if r.article})
    removed = set(removed_articles(articles))
    small = without(kb, removed)
    in_rows = sample([r for r in rows_all if r.article not in removed], args.sample, args.seed)
    out_rows = sample([r for r in rows_all if r.article in removed], args.sample, args.seed)
    lex_small = open_engine(small, config)
    sem_small = open_engine(small, config, semantics_without(kb, full, removed),
                           lex_small.index)  # fmt: skip
    protocol: dict = {"removed_articles": sorted(removed), "in_kb_questions": len(in_rows),
                      "removed_questions": len(out_rows)}  # fmt: skip
    recorded = {}
    for name, engine in (("off", lex_small), ("on", sem_small)):
        ins = run_engine(engine, in_rows, f"protocol {name} in")
        outs = run_engine(engine, out_rows, f"protocol {name} out")
        recorded[name] = (ins, outs)
    recorded["on_before"] = recorded["on"]
    for name in MODES:
        ins, outs = recorded[name]
        t = before(tuning) if name == "on_before" else tuning
        rule = rule_of(t)
        protocol[name] = {
            "out_abstained": sum(map(rule, outs)) / max(len(outs), 1),
            "in_wrongly_abstained": sum(map(rule, ins)) / max(len(ins), 1),
            "in_answer_hit": score(in_rows, ins, rule).answer_hit_rate,
            "curve": curve(in_rows, ins, outs, t, name),
        }
    out["protocol"] = protocol

    i, p = out["in_kb"], out["protocol"]
    print(f"## SQuAD v1.1 {args.split}: {i['questions']} in-KB questions, seed {args.seed}")
    for k in MODES:
        f = i[k]
        print(f"model {k:3}: hit {pct(f['answer_hit'])}, 1st-cite {pct(f['first_citation_hit'])},"
              f" right article {pct(f['right_article_answered'])}, abstained "
              f"{pct(f['abstained'])}, {f['mean_chars']:.0f} chars, p50/p95 "
              f"{f['p50_ms']:.1f}/{f['p95_ms']:.1f} ms")  # fmt: skip
    print(f"## removed-articles: {len(in_rows)} in-KB / {len(out_rows)} removed-article questions")
    for k in MODES:
        print(f"model {k:3}: removed abstained {pct(p[k]['out_abstained'])}, in-KB wrongly "
              f"abstained {pct(p[k]['in_wrongly_abstained'])}, in-KB hit "
              f"{pct(p[k]['in_answer_hit'])}")  # fmt: skip
    return out


def squad_v2(args: argparse.Namespace, encoder: Encoder, tuning: Tuning) -> dict:
    """SQuAD v2.0: unanswerable questions abstained vs answerable ones answered (and hit)."""
    rule = rule_of(tuning)
    config = EngineConfig(tuning=tuning)
    v2 = args.data / "squad-v2.0"
    raw = read_raw(v2 / f"{args.split}.jsonl")
    impossible = sample([Row(r["question"], (), r["article"]) for r in raw
                         if r.get("is_impossible")], args.sample, args.seed)  # fmt: skip
    possible = sample([Row(r["question"], tuple(r["answers"]), r["article"]) for r in raw
                       if not r.get("is_impossible")], args.sample, args.seed)  # fmt: skip
    kb2 = load_knowledge(v2 / "knowledge")
    lex2 = open_engine(kb2, config)
    sem2 = open_engine(kb2, config, semantics_for(kb2, encoder, "squad-v2.0"), lex2.index)
    out: dict = {"split": args.split, "sample": args.sample, "seed": args.seed,
                 "unanswerable_questions": len(impossible), "answerable_questions":
                 len(possible), "articles": len(kb2.articles)}  # fmt: skip
    recorded = {}
    for name, engine in (("off", lex2), ("on", sem2)):
        recorded[name] = (
            run_engine(engine, impossible, f"v2 {name} unanswerable"),
            run_engine(engine, possible, f"v2 {name} answerable"),
        )
    recorded["on_before"] = recorded["on"]
    for name in MODES:
        imp, answerable = recorded[name]
        rule = rule_of(before(tuning) if name == "on_before" else tuning)
        pos = score(possible, answerable, rule)
        out[name] = {
            "unanswerable_abstained": sum(map(rule, imp)) / max(len(imp), 1),
            "answerable_answered": 1 - pos.abstention_rate,
            "answerable_hit": pos.answer_hit_rate,
            "answerable_mean_chars": pos.mean_answer_chars,
        }
    print(f"## SQuAD v2.0 {args.split}: {len(impossible)} unanswerable, {len(possible)} answerable")
    for k in MODES:
        f = out[k]
        print(f"model {k:3}: unanswerable abstained {pct(f['unanswerable_abstained'])}, "
              f"answerable answered {pct(f['answerable_answered'])}, hit "
              f"{pct(f['answerable_hit'])}")  # fmt: skip
    return out


def words(args: argparse.Namespace, encoder: Encoder, tuning: Tuning) -> dict:
    """The users'-words dev set, every conversation (follow-ups included), per category."""
    squad_kb = load_knowledge(args.data / "squad-v1.1" / "knowledge")
    bundled = load_knowledge(ROOT / "knowledge")
    kb = KnowledgeBase(squad_kb.articles + bundled.articles)
    parts = [
        semantics_for(squad_kb, encoder, "squad-v1.1"),
        semantics_for(bundled, encoder, "bundled"),
    ]
    vectors = np.concatenate([p.passage_vectors for p in parts if p.passage_vectors is not None])
    assert len(vectors) == len(kb.passages)
    sentences = SentenceVectors.of(
        np.concatenate([p.sentences.keys for p in parts if p.sentences is not None]),
        np.concatenate([p.sentences.vectors for p in parts if p.sentences is not None]),
    )
    config = EngineConfig(tuning=tuning)
    lexical = Engine(kb, config)
    semantics = Semantics(encoder, vectors, sentences=sentences)
    engines = {
        "off": lexical,
        "on_before": Engine(kb, EngineConfig(tuning=before(tuning)), lexical.index, semantics),
        "on": Engine(kb, config, lexical.index, semantics),
    }
    conversations = read_conversations(args.set)
    out: dict = {"conversations": len(conversations)}
    for name, engine in engines.items():
        started = time.perf_counter()
        table = by_category(run_conversations(engine, conversations))
        out[name] = {c: {"questions": f.questions, "correct": f.rate(f.correct),
                         "abstained": f.rate(f.abstained), "wrong": f.rate(f.wrong),
                         "failures": f.failures} for c, f in table.items()}  # fmt: skip
        out[f"{name}_s"] = time.perf_counter() - started
    print(f"## users'-words dev set: {len(conversations)} conversations")
    for c in out["off"]:
        print(f"{c:14} n {out['off'][c]['questions']:3}: " + ", ".join(
            f"{k} {pct(out[k][c]['correct'])} (abstained {pct(out[k][c]['abstained'])})"
            for k in MODES))  # fmt: skip
    return out


def scifact(args: argparse.Namespace, encoder: Encoder, tuning: Tuning) -> dict:
    """`Engine.search` with the model off (BM25) and on (BM25 fused with the dense path by
    tuning.json's `semantic.search`, once the passage vectors are there), and, for
    comparison, the fusion `ask` uses for its candidates (`semantic`'s own weight)."""
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from eval_scifact import rank_documents, write_corpus

    from bot.core.text.analysis import analyze

    root = args.data / "scifact"
    queries = {q["_id"]: q["text"] for q in read_raw(root / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels_test.beir.tsv").read_text().splitlines()[1:]:
        qid, doc, grade = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(grade)
    with tempfile.TemporaryDirectory() as scratch:
        write_corpus(root / "corpus.jsonl", Path(scratch))
        kb = load_knowledge(Path(scratch))
    config = EngineConfig(tuning=tuning)
    lexical = Engine(kb, config)
    started = time.perf_counter()
    dense = not args.no_dense and len(kb.passages) <= args.dense_max
    semantics = semantics_for(kb, encoder, "scifact") if dense else Semantics(encoder)
    vectors_s = time.perf_counter() - started
    semantic = Engine(kb, config, lexical.index, semantics)

    def fused(query: str, depth: int) -> list[str]:
        vector = semantics.vectors([query])[0]
        seen: dict[str, None] = {}
        terms = analyze(query, names=False)
        for hit in semantic._rank(terms, (), depth * 3, vector, semantics.passage_vectors):
            seen.setdefault(Path(hit.article.id).stem, None)
        return list(seen)[:depth]

    rankers = {"off (search)": lambda q: rank_documents(lexical, q, 100),
               "on (search)": lambda q: rank_documents(semantic, q, 100)}  # fmt: skip
    if dense:
        rankers["on, dense fusion (ask's candidates)"] = lambda q: fused(q, 100)
    out: dict = {"queries": len(qrels), "documents": len(kb.articles),
                 "passages": len(kb.passages), "passage_vectors_s": vectors_s}  # fmt: skip
    for name, rank in rankers.items():
        ndcg, recall, ms = [], [], []
        for qid, rel in qrels.items():
            t0 = time.perf_counter()
            ranked = rank(queries[qid])
            ms.append((time.perf_counter() - t0) * 1000)
            ndcg.append(ndcg_at_k(ranked, rel, 10))
            recall.append(recall_at_k(ranked, rel, 100))
        out[name] = {"ndcg@10": statistics.fmean(ndcg), "recall@100": statistics.fmean(recall),
                     "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}  # fmt: skip
        f = out[name]
        print(f"SciFact {name}: nDCG@10 {f['ndcg@10']:.3f}, recall@100 {f['recall@100']:.3f}, "
              f"p50 {f['p50_ms']:.1f} ms")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["squad", "v2", "words", "scifact"])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--sample", type=int, default=400, help="questions per part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", type=Path, default=ROOT / "benchmarks/data/user_words_dev.jsonl")
    parser.add_argument("--no-dense", action="store_true", help="scifact: no passage vectors")
    parser.add_argument("--dense-max", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/onoff-*.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (args.data / "squad-v1.1" / "knowledge").is_dir():
        print(f"evaluation data not found under {args.data}; nothing to evaluate")
        return 0
    started = time.perf_counter()
    state = load_encoder("default", MODELS)
    if state.encoder is None:
        print(state.notice)
        return 0
    load_s = time.perf_counter() - started
    part = {"squad": squad, "v2": squad_v2, "words": words, "scifact": scifact}[args.part]
    started = time.perf_counter()
    results = {"model": state.notice, "model_load_s": load_s,
               **part(args, state.encoder, default_tuning()),
               "wall_s": time.perf_counter() - started, "passage_vectors_s": EMBED_S,
               "load_average": os.getloadavg()}  # fmt: skip
    suffix = f"-{args.split}" if args.part in ("squad", "v2") else ""
    target = args.json or RESULTS / f"onoff-{args.part}{suffix}.json"
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
