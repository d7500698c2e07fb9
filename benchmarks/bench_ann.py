"""Exact search vs an ANN index at 100k passages (faiss-cpu, not a dependency of the bot).

    pip install faiss-cpu && python benchmarks/bench_ann.py

Random unit vectors (100k × 384) stand in for passage vectors: search times are right, but
HNSW's recall on uniform random vectors (no clusters) says nothing about real embeddings.
One thread each: numpy float32 product + argpartition (what the bot does), faiss
IndexFlatIP (exact), IndexHNSWFlat (M = 32, efConstruction = 40) at efSearch 32/64/128.
Figures in docs/performance.md.
"""

import sys

try:
    import faiss
except ImportError:
    print("skipped: pip install faiss-cpu")
    sys.exit(0)
import os
import statistics
import time

import numpy as np

faiss.omp_set_num_threads(1)
rng = np.random.default_rng(0)
n, d = 100_000, 384
x = rng.standard_normal((n, d), dtype=np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
q = rng.standard_normal((60, d), dtype=np.float32)
q /= np.linalg.norm(q, axis=1, keepdims=True)


def bench(f):
    ts = []
    for v in q:
        t = time.perf_counter()
        f(v)
        ts.append(1000 * (time.perf_counter() - t))
    return round(statistics.median(ts), 2), round(sorted(ts)[int(0.95 * 59)], 2)


x16 = x.astype(np.float16)
print("numpy f32 exact", bench(lambda v: np.argpartition(-(x @ v), 19)[:20]))
flat = faiss.IndexFlatIP(d)
flat.add(x)
print("faiss flat", bench(lambda v: flat.search(v[None], 20)))
t = time.perf_counter()
h = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
h.hnsw.efConstruction = 40
h.add(x)
print("hnsw build s", round(time.perf_counter() - t, 1))
for ef in (32, 64, 128):
    h.hnsw.efSearch = ef
    _, exact = flat.search(q, 20)
    _, got = h.search(q, 20)
    recall = np.mean([len(set(a) & set(b)) / 20 for a, b in zip(exact, got, strict=True)])
    print("hnsw ef", ef, bench(lambda v: h.search(v[None], 20)), "recall@20", round(recall, 3))
print(os.getloadavg())
