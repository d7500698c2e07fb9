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

from bot.core.retrieval.index import BM25Index
from bot.core.text.analysis import analyze, term_words
from bot.core.text.english import is_english

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


class QuerySpelling:
    """A question's terms as the index knows them: each unknown, non-English word replaced by
    its nearest vocabulary term. One per engine; lookups are memoised."""

    def __init__(self, index: BM25Index, enabled: bool = True) -> None:
        self.index = index
        self.enabled = enabled
        self._speller: Speller | None = None  # built on the first unknown query term
        self._spelt: dict[str, str | None] = {}

    def speller(self) -> Speller:
        """Nearest-term lookup over the vocabulary (terms seen once are no target at scale)."""
        speller = self._speller
        if speller is None:  # two threads may both build it; either result is the same
            min_df = 2 if self.index.size >= 10_000 else 1
            speller = self._speller = Speller(self.index.terms(), self.index.doc_freqs(), min_df)
        return speller

    def spelt(self, term: str, word: str) -> str | None:
        """The vocabulary term an unknown query term was probably meant as, or None."""
        if not self.enabled or self.index.doc_freq(term) or is_english(word):
            return None  # a term the index has is never replaced; nor an English word
        key = f"{term}\t{word}"
        if key in self._spelt:  # answers run on worker threads: one lookup, no check-then-get
            return self._spelt.get(key)
        found = self.speller().nearest(term, word)
        to = found.to if found else None
        if len(self._spelt) >= 100_000:
            self._spelt.clear()
        self._spelt[key] = to
        return to

    def understood(self, question: str) -> tuple[list[str], dict[str, str]]:
        """The question's terms with misspellings replaced, and each replaced word → term."""
        terms = analyze(question, names=False)
        typed = term_words(question)
        fixes: dict[str, str] = {}
        for i, term in enumerate(terms):
            word = typed.get(term, term)
            to = self.spelt(term, word)
            if to is not None:
                fixes[word] = terms[i] = to
        return terms, fixes


def spellings(wanted: set[str], texts: Iterable[str]) -> dict[str, str]:
    """A word of the texts for each wanted term (its spelling as written there)."""
    found: dict[str, str] = {}
    for text in texts:
        for term, word in term_words(text).items():
            if term in wanted and term not in found:
                found[term] = word
        if len(found) == len(wanted):
            break
    return found
