"""Record every question's abstention figures once, with the embedding model on, for fitting.

Each question is drafted with abstention switched off (`open_engine`), so one recording
scores any rule offline. Written per question (JSON lines): the set, whether the question
should be answered, whether the answer (abstention off) holds a gold answer, whether it was
abstained whatever the rule (passing mention, another's name), and every `Support` figure
(lexical and semantic). Sets:

- `protocol`: SQuAD v1.1 removed-articles protocol (in-KB questions: answer; removed: abstain);
- `v2`: SQuAD v2.0 (unanswerable: abstain; answerable: answer), KB = its articles;
- `words`: the users'-words dev set's single-turn questions (off-topic: abstain), KB = the 48
  SQuAD articles + the bundled one.

On dev the SQuAD samples are drawn (seed 1) from the questions *outside* eval_on_off.py's
seed-0 samples, so the rule fitted here is scored on questions it was not fitted on.

    python benchmarks/eval_record_support.py --split dev --sample 400
    python benchmarks/eval_fit_semantic_abstention.py                  # fits offline
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_on_off import (
    DATA,
    MODELS,
    RESULTS,
    ROOT,
    read_raw,
    semantics_for,
    semantics_without,
    without,
)

from bot.core.answering.tuning import default_tuning
from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import EngineConfig
from bot.core.retrieval.dense import Encoder, Semantics
from bot.embedding import load_encoder
from bot.evaluation.conversations import read_conversations
from bot.evaluation.metrics import contains_answer, same_article
from bot.evaluation.protocol import Row, open_engine, removed_articles, run_engine, sample


def fit_sample(rows: list[Row], n: int, split: str, eval_n: int) -> list[Row]:
    """Dev: n rows outside eval_on_off.py's seed-0 sample (seed 1); held-out: that sample."""
    if split != "dev":
        return sample(rows, eval_n, 0)
    held = set(sample(list(range(len(rows))), eval_n, 0)) if eval_n < len(rows) else set()  # type: ignore[arg-type]
    rest = [r for i, r in enumerate(rows) if i not in held]
    return sample(rest, n, 1)


def records(engine, rows: list[Row], part: str, label: int, desc: str) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    for row, o in zip(rows, run_engine(engine, rows, desc), strict=True):
        out.append(
            {
                "set": part,
                "answer": label,
                "question": row.question,
                "hit": contains_answer(o.text, row.answers)
                if row.answers
                else bool(label and row.article and o.text)
                and same_article(row.article or "", o.title, o.article_id),
                "forced": o.forced_abstention,
                "chars": len(o.text),
                **(asdict(o.support) if o.support else {}),
            }
        )
    return out


def protocol(args: argparse.Namespace, encoder: Encoder) -> list[dict]:
    root = args.data / "squad-v1.1"
    kb = load_knowledge(root / "knowledge")
    rows_all = [Row(r["question"], tuple(r["answers"]), r["article"])
                for r in read_raw(root / f"{args.split}.jsonl")]  # fmt: skip
    removed = set(removed_articles(sorted({r.article for r in rows_all if r.article})))
    full = semantics_for(kb, encoder, "squad-v1.1")
    engine = open_engine(without(kb, removed), EngineConfig(tuning=default_tuning()),
                         semantics_without(kb, full, removed))  # fmt: skip
    ins = fit_sample(
        [r for r in rows_all if r.article not in removed], args.sample, args.split, 300
    )
    outs = fit_sample([r for r in rows_all if r.article in removed], args.sample, args.split, 300)
    return records(engine, ins, "protocol", 1, "in-KB") + records(
        engine, outs, "protocol", 0, "removed"
    )


def v2(args: argparse.Namespace, encoder: Encoder) -> list[dict]:
    root = args.data / "squad-v2.0"
    raw = read_raw(root / f"{args.split}.jsonl")
    kb = load_knowledge(root / "knowledge")
    engine = open_engine(kb, EngineConfig(tuning=default_tuning()),
                         semantics_for(kb, encoder, "squad-v2.0"))  # fmt: skip
    imp = [Row(r["question"], (), r["article"]) for r in raw if r.get("is_impossible")]
    pos = [Row(r["question"], tuple(r["answers"]), r["article"])
           for r in raw if not r.get("is_impossible")]  # fmt: skip
    imp = fit_sample(imp, args.sample, args.split, 300)
    pos = fit_sample(pos, args.sample, args.split, 300)
    return records(engine, pos, "v2", 1, "v2 answerable") + records(
        engine, imp, "v2", 0, "v2 unanswerable"
    )


def words(args: argparse.Namespace, encoder: Encoder) -> list[dict]:
    squad_kb = load_knowledge(args.data / "squad-v1.1" / "knowledge")
    bundled = load_knowledge(ROOT / "knowledge")
    kb = KnowledgeBase(squad_kb.articles + bundled.articles)
    parts = [semantics_for(squad_kb, encoder, "squad-v1.1"),
             semantics_for(bundled, encoder, "bundled")]  # fmt: skip
    vectors = np.concatenate([p.passage_vectors for p in parts if p.passage_vectors is not None])
    engine = open_engine(kb, EngineConfig(tuning=default_tuning()), Semantics(encoder, vectors))
    out = []
    for c in read_conversations(args.set):
        if len(c.turns) != 1:
            continue  # follow-ups lean on the turn before: answered lexically
        turn = c.turns[0]
        label = 0 if turn.abstain else 1
        row = Row(turn.question, tuple(turn.answers or ()), c.article)
        rec = records(engine, [row], "words", label, c.id)
        rec[0]["category"] = c.category
        out += rec
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--sample", type=int, default=400, help="questions per side (dev)")
    parser.add_argument("--parts", nargs="+", default=["protocol", "v2", "words"])
    parser.add_argument("--set", type=Path, default=ROOT / "benchmarks/data/user_words_dev.jsonl")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (args.data / "squad-v1.1" / "knowledge").is_dir():
        print(f"evaluation data not found under {args.data}; nothing to record")
        return 0
    state = load_encoder("default", MODELS)
    if state.encoder is None:
        print(state.notice)
        return 0
    target = args.out or RESULTS / f"support-{args.split}.jsonl"
    parts = {"protocol": protocol, "v2": v2, "words": words}
    with target.open("w", encoding="utf-8") as f:
        for name in args.parts:
            for rec in parts[name](args, state.encoder):
                f.write(json.dumps(rec) + "\n")
            f.flush()
            print(f"recorded {name}")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
