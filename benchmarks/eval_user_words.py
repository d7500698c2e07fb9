"""Questions in users' own words (benchmarks/data/user_words_dev.jsonl), scored per category.

    python benchmarks/eval_user_words.py [--json out.json] [--show-failures]

The set is hand-written over SQuAD v1.1 *dev* articles and the bundled article (dev data:
tuning on it is allowed). The knowledge base is the 48 SQuAD articles plus the bundled
article, asked through `Engine.answer` with the real abstention rule; conversations are
asked turn by turn, each in the context of the previous answer, and the last turn scored.
The embedding model is used as the product uses it (BOT_EMBEDDING_MODEL, BOT_MODELS_DIR;
`--model off` for the lexical path), passage vectors cached in data/bench-cache.
Reads /work/shared/data (or --data); exits cleanly when it is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine
from bot.core.retrieval.dense import Semantics
from bot.embedding import load_encoder
from bot.evaluation.conversations import by_category, read_conversations, run_conversations
from bot.knowledge.vectors import cache_file, passage_vectors
from bot.settings import Settings

DATA = Path("/work/shared/data")
ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "benchmarks" / "data" / "user_words_dev.jsonl"
CACHE = ROOT / "data" / "bench-cache" / "user-words"


def semantics_for(kb: KnowledgeBase, model: str) -> Semantics | None:
    """The model as the product loads it (None: off or not installed), with passage vectors."""
    settings = Settings()
    state = load_encoder(
        model or settings.embedding_model,
        settings.models_dir,
        quantized=settings.embedding_precision == "int8",
    )
    print(state.notice)
    if state.encoder is None:
        return None
    vectors = passage_vectors(kb, state.encoder, cache_file(CACHE, state.encoder))
    return Semantics(state.encoder, vectors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--model", default="", help="'off', or a model folder (default: settings)")
    parser.add_argument("--answers", type=Path, help="write every conversation's last answer")
    args = parser.parse_args(argv)

    squad = args.data / "squad-v1.1" / "knowledge"
    if not squad.is_dir():
        print(f"SQuAD data not found under {args.data}; nothing to evaluate")
        return 0
    kb_squad = load_knowledge(squad)
    kb_bundled = load_knowledge(ROOT / "knowledge")
    kb = KnowledgeBase(kb_squad.articles + kb_bundled.articles)
    engine = Engine(kb, semantics=semantics_for(kb, args.model))
    conversations = read_conversations(args.set)
    started = time.perf_counter()
    verdicts = run_conversations(engine, conversations)
    elapsed = time.perf_counter() - started
    table = by_category(verdicts)

    print(f"## User-words dev set: {len(conversations)} conversations ({elapsed:.1f} s)")
    print(f"{'category':14}{'n':>5}{'correct':>10}{'abstained':>11}{'wrong':>8}")
    for name, f in table.items():
        print(
            f"{name:14}{f.questions:>5}{100 * f.rate(f.correct):>9.1f}%"
            f"{100 * f.rate(f.abstained):>10.1f}%{100 * f.rate(f.wrong):>7.1f}%"
        )
    if args.show_failures:
        for v in verdicts:
            if v.outcome != "correct":
                last = v.conversation.turns[-1].question
                shown = " ".join(v.answer.answer.split())[:160]
                resolved = f" (read as {v.answer.resolved!r})" if v.answer.resolved else ""
                print(f"- {v.conversation.id} [{v.outcome}] {last!r}{resolved} → {shown}")
    if args.answers:
        rows = [
            {
                "id": v.conversation.id,
                "outcome": v.outcome,
                "question": v.conversation.turns[-1].question,
                "resolved": v.answer.resolved,
                "answer": v.answer.answer,
            }
            for v in verdicts
        ]
        args.answers.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    name: {
                        "questions": f.questions,
                        "correct": f.rate(f.correct),
                        "abstained": f.rate(f.abstained),
                        "wrong": f.rate(f.wrong),
                        "failures": f.failures,
                    }
                    for name, f in table.items()
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
