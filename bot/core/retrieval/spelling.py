"""Misspelt query terms matched to the index vocabulary (nearest terms by edit distance).

Only a term the index does not know is ever corrected; it becomes the vocabulary term at
the smallest optimal-string-alignment distance (a swap of two neighbouring letters counts
as one edit, as in "Suepr"), the most frequent one among equals. Candidates are kept in
buckets by length and by their first or second letter, so a query compares only against
terms of a length within reach sharing its first or second letter, either way round (a
typo rarely changes both; rapidfuzz does the comparisons in C). The buckets are built from
the index's vocabulary on first use (benchmarks/bench_spelling.py measures both).

A word of ordinary English ("hottest", "born") that the knowledge base happens not to have
is a paraphrase or a foreign topic, not a typo: it is left alone (bot/core/text/english.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

# Shorter stems have too many neighbours one edit away to choose from honestly.
MIN_LENGTH = 4
# Stems this long may be two edits away ("infinitly" → "infinit" is one, "halftme" one).
TWO_EDITS_FROM = 7


@dataclass(frozen=True, slots=True)
class Correction:
    term: str  # what the question's word analysed to (absent from the index)
    to: str  # the vocabulary term searched instead
    distance: int


def max_edits(term: str) -> int:
    if len(term) < MIN_LENGTH:
        return 0
    return 2 if len(term) >= TWO_EDITS_FROM else 1


def correctable(term: str) -> bool:
    """Words only: numbers, codes (`s400`) and short stems are left alone."""
    return len(term) >= MIN_LENGTH and term.isalpha() and term.isascii()


class Speller:
    """Nearest vocabulary terms of a term the vocabulary lacks."""

    def __init__(
        self, terms: Iterable[str], doc_freq: npt.NDArray[np.int64], min_doc_freq: int = 1
    ) -> None:
        """`terms` in column order, `doc_freq` per column; rarer terms are never targets
        (in a large corpus most words seen once are themselves misspellings)."""
        buckets: dict[tuple[int, int, str], list[str]] = {}
        freqs: dict[tuple[int, int, str], list[int]] = {}
        size = 0
        for term, df in zip(terms, doc_freq.tolist(), strict=True):
            if df >= min_doc_freq and correctable(term):
                size += 1
                for key in ((len(term), 0, term[0]), (len(term), 1, term[1])):
                    buckets.setdefault(key, []).append(term)
                    freqs.setdefault(key, []).append(df)
        self._buckets = buckets
        self._freqs = freqs
        self.size = size

    @staticmethod
    def _keys(query: str, length: int) -> set[tuple[int, int, str]]:
        """Buckets whose terms share the query's first or second letter at either place."""
        return {(length, p, c) for p in (0, 1) for c in query[:2]}

    def nearest(self, term: str, word: str = "") -> Correction | None:
        """The closest known term to `term` or to the `word` it was stemmed from (stemming
        can move a typo further away: "turky" → `turki`, one edit from `turkey` as typed),
        fewest edits first, then the term in most passages; None when nothing is in reach."""
        best: tuple[int, int, str] | None = None  # (distance, -doc freq, term)
        for query in dict.fromkeys(q for q in (term, word.casefold()) if correctable(q)):
            reach = max_edits(query)
            keys = (
                key
                for length in range(len(query) - reach, len(query) + reach + 1)
                for key in self._keys(query, length)
            )
            for key in keys:
                choices = self._buckets.get(key)
                if not reach or not choices:
                    continue
                found = process.extract(
                    query, choices, scorer=OSA.distance, score_cutoff=reach, limit=None
                )
                freqs = self._freqs[key]
                for choice, distance, i in found:
                    key = (int(distance), -freqs[i], choice)
                    if best is None or key < best:
                        best = key
        if best is None:
            return None
        return Correction(term, best[2], best[0])
