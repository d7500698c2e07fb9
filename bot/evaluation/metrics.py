"""Metric functions shared by the `eval` command and the benchmarks."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

from bot.core.text.analysis import normalize

_MARKER = re.compile(r"\s*\[\d+\]")


def fold(text: str) -> str:
    """Fold text for answer matching: case, accents, typography and spacing ignored."""
    return " ".join(normalize(text).split())


def strip_markers(text: str) -> str:
    """Remove citation markers such as ` [1]` from an answer."""
    return _MARKER.sub("", text)


def contains_answer(text: str, gold: Iterable[str]) -> bool:
    """A gold answer appears in `text`, ignoring case, accents and spacing."""
    folded = fold(text)
    return any(g.strip() and fold(g) in folded for g in gold)


def same_article(wanted: str, title: str, article_id: str) -> bool:
    """`wanted` (a title or a file-name key like `Super_Bowl_50`) names this article."""
    key = fold(wanted.replace("_", " "))
    stem = article_id.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return key in (fold(title.replace("_", " ")), fold(stem.replace("_", " ")))


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (trec_eval's `ndcg_cut`, as BEIR reports it)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the first k."""
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])
