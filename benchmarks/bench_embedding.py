"""What the embedding model costs, beside the lexical path in the same run.

    python benchmarks/bench_embedding.py [--questions 60]

Model load time and resident memory; embedding throughput of the fp32 and int8 graphs on
questions and on SQuAD passages (interleaved rounds, best of 3); embedding the 48-article
SQuAD knowledge base from scratch; `Engine.answer` per question with the model off and on
(cold and warm sentence cache) on the bundled article and on SQuAD. Needs the installed
model; SQuAD parts are skipped when /work/shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine
from bot.core.retrieval.dense import Semantics
from bot.embedding import load_encoder
from bot.embedding.encoder import OnnxEncoder
from bot.knowledge.vectors import passage_text, passage_vectors

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "all-MiniLM-L6-v2"
SQUAD = Path("/work/shared/data/squad-v1.1")


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(encoders: dict[str, tuple[OnnxEncoder, int]], texts: list[str]) -> dict:
    rates: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(3):
        for name, (encoder, batch) in encoders.items():
            started = time.perf_counter()
            if batch == 1:
                for text in texts:
                    encoder.encode([text])
            else:
                encoder.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    return {k: round(max(v), 1) for k, v in rates.items()}


def answer_ms(kb: KnowledgeBase, questions: list[str], semantics: Semantics | None) -> dict:
    engine = Engine(kb, semantics=semantics)
    out = {}
    for label in ("cold", "warm"):  # warm: the same questions again (sentence vectors cached)
        times = []
        for q in questions:
            started = time.perf_counter()
            engine.answer(q)
            times.append((time.perf_counter() - started) * 1000)
        out[label] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
        }
        if semantics is None:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict = {}
    before = rss_mib()
    started = time.perf_counter()
    state = load_encoder(str(MODEL), MODEL.parent)
    if state.encoder is None:
        print(state.notice)
        return 0
    results["load_s"] = round(time.perf_counter() - started, 2)
    results["load_rss_mib"] = round(rss_mib() - before, 1)
    encoder = state.encoder

    bundled = load_knowledge(ROOT / "knowledge")
    sample_questions = [
        "Who is Armenia's defence minister?",
        "who is the turkish president",
        "Why is the US worried about the S-400 in Turkey?",
        "What did Russia say about the S-400 contract?",
        "Which TV channel interviewed the president of Azerbaijan?",
        "What is the capital of France?",
    ] * 5
    vectors = passage_vectors(bundled, encoder, None)
    results["bundled"] = {
        "off": answer_ms(bundled, sample_questions, None),
        "on": answer_ms(bundled, sample_questions, Semantics(encoder, vectors)),
    }
    if (SQUAD / "knowledge").is_dir():
        kb = load_knowledge(SQUAD / "knowledge")
        rows = [json.loads(x) for x in (SQUAD / "dev.jsonl").read_text().splitlines() if x]
        questions = [r["question"] for r in rows[: args.questions]]
        titles = {a.id: a.title for a in kb.articles}
        passages = [passage_text(titles[p.article_id], p.text) for p in kb.passages[:48]]
        encoders = {
            "fp32, batches of 32": (OnnxEncoder(MODEL, quantized=False), 32),
            "fp32, one text per run": (OnnxEncoder(MODEL, quantized=False), 1),
            "int8, one text per run (shipped)": (OnnxEncoder(MODEL), 1),
        }
        results["texts_per_s"] = {
            "questions": throughput(encoders, questions),
            "passages": throughput(encoders, passages),
        }
        started = time.perf_counter()
        vectors = passage_vectors(kb, encoder, None)
        results["squad_embed_all_s"] = round(time.perf_counter() - started, 1)
        results["squad_passages"] = len(kb.passages)
        results["squad"] = {
            "off": answer_ms(kb, questions, None),
            "on": answer_ms(kb, questions, Semantics(encoder, vectors)),
        }
    results["rss_mib"] = round(rss_mib(), 1)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
