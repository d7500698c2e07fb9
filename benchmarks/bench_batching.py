"""Background embedding: one text per run vs length-sorted batches, one run, same texts.

    python benchmarks/bench_batching.py [--passages 40] [--threads 1]

What the background job embeds — SQuAD passages (title + text) and their sentences — on a
session like the job's (`--threads`, no spinning): texts/s and tokens/s for int8 and fp32,
one text per run and length-sorted batches of 8/32/64 (padding only to the longest of each
batch), and each vector's cosine to the shipped int8 one-text-per-run vector (int8
activations are quantised per run, so a batched text's vector depends on its batch). Also
the old job's unit (passages only) against the new (passages and their sentences). Writes
`benchmarks/results/bench-batching.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from bot.core.articles.loader import load_knowledge
from bot.core.retrieval.dense import passage_text
from bot.embedding.encoder import OnnxEncoder
from bot.knowledge.vectors import sentence_texts

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "all-MiniLM-L6-v2"
SQUAD = Path("/work/shared/data/squad-v1.1/knowledge")


def run(encoder: OnnxEncoder, texts: list[str], batch: int) -> tuple[np.ndarray, float]:
    """Vectors of `texts` in length-sorted batches of `batch`; seconds taken."""
    tokens = encoder._tokenizer.encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(tokens[i].ids))
    out = np.zeros((len(texts), encoder.dimension), np.float32)
    started = time.perf_counter()
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        width = max(len(tokens[i].ids) for i in chunk)
        ids = np.zeros((len(chunk), width), np.int64)
        mask = np.zeros_like(ids)
        for row, i in enumerate(chunk):
            n = len(tokens[i].ids)
            ids[row, :n], mask[row, :n] = tokens[i].ids, 1
        out[chunk] = encoder._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    return out, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (MODEL / "INSTALLED").is_file() or not SQUAD.is_dir():
        print("skipped: needs the installed model and /work/shared/data")
        return 0
    kb = load_knowledge(SQUAD)
    titles = {a.id: a.title for a in kb.articles}
    chosen = random.Random(0).sample(list(kb.passages), args.passages)
    passages = [passage_text(titles[p.article_id], p.text) for p in chosen]
    sentences = [s for p in chosen for s in sentence_texts(p.text)]
    texts = passages + sentences
    out: dict = {"load_average_before": os.getloadavg(), "threads": args.threads,
                 "passages": len(passages), "sentences": len(sentences)}  # fmt: skip
    int8 = OnnxEncoder(MODEL, quantized=True, threads=args.threads, spinning=False)
    fp32 = OnnxEncoder(MODEL, quantized=False, threads=args.threads, spinning=False)
    n_tokens = sum(len(e.ids) for e in int8._tokenizer.encode_batch(texts))
    reference, _ = run(int8, texts, 1)
    rows = []
    for name, encoder in (("int8", int8), ("fp32", fp32)):
        for batch in (1, 8, 32, 64):
            vectors, seconds = run(encoder, texts, batch)
            cosines = np.sum(vectors * reference, axis=1)
            rows.append(
                {
                    "graph": name,
                    "batch": batch,
                    "texts_per_s": round(len(texts) / seconds, 1),
                    "tokens_per_s": round(n_tokens / seconds),
                    "cos_min": round(float(cosines.min()), 4),
                    "cos_mean": round(float(cosines.mean()), 5),
                }
            )
            print(rows[-1], flush=True)
    out["runs"] = rows
    # The job's unit of work: passages alone (before) vs passages and their sentences (now).
    _, old_s = run(int8, passages, 1)
    _, new_s = run(int8, texts, 1)
    out["passages_only_per_s"] = round(len(passages) / old_s, 2)
    out["passages_with_sentences_per_s"] = round(len(passages) / new_s, 2)
    out["load_average_after"] = os.getloadavg()
    (ROOT / "benchmarks" / "results" / "bench-batching.json").write_text(
        json.dumps(out, indent=1) + "\n"
    )
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
