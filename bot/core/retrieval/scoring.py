"""BM25 scoring as tiny pure functions over numpy arrays.

The expressions are written in exactly the floating-point operation order of
``rank_bm25.BM25Okapi`` so that the index built from them is bit-identical to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer]


def _per_distinct_value(doc_freq: IntArray, fn: Callable[[int], float]) -> FloatArray:
    """Apply a scalar ``fn(df)`` once per distinct document frequency, in Python floats.

    Python's ``math.log`` is the one rank-bm25 calls; numpy's vectorised log may differ
    in the last bit.
    """
    distinct, inverse = np.unique(np.asarray(doc_freq, dtype=np.int64), return_inverse=True)
    values = np.array([fn(df) for df in distinct.tolist()], dtype=np.float64)
    return values[inverse.reshape(-1)]


def okapi_idf(n_docs: int, doc_freq: IntArray, epsilon: float) -> FloatArray:
    """Return rank-bm25's BM25Okapi idf for terms given in rank-bm25's order (first occurrence)."""
    if len(doc_freq) == 0:
        return np.zeros(0, dtype=np.float64)
    raw = _per_distinct_value(doc_freq, lambda df: math.log(n_docs - df + 0.5) - math.log(df + 0.5))
    # rank-bm25 sums the raw idfs one by one in term order; cumsum is sequential too
    # (np.sum would be pairwise and round differently).
    idf_sum = float(np.cumsum(raw)[-1])
    average_idf = idf_sum / len(raw)
    return np.where(raw < 0, epsilon * average_idf, raw)


def lucene_idf(n_docs: int, doc_freq: IntArray) -> FloatArray:
    """Return Lucene's idf ``log(1 + (N - n + 0.5) / (n + 0.5))``: positive, decreasing in n."""
    return _per_distinct_value(doc_freq, lambda df: math.log1p((n_docs - df + 0.5) / (df + 0.5)))


def length_norm(doc_len: IntArray, k1: float, b: float, avgdl: float) -> FloatArray:
    """Return the per-passage denominator term ``k1 * (1 - b + b * |d| / avgdl)``."""
    return np.asarray(k1 * (1 - b + b * doc_len / avgdl), dtype=np.float64)


def bm25_weight(tf: IntArray, norm: FloatArray, idf: FloatArray, k1: float) -> FloatArray:
    """Return the BM25 contribution of a term occurring ``tf`` times in a passage."""
    return idf * (tf * (k1 + 1) / (tf + norm))
