"""BM25 index over pre-tokenised passages: exact rank-bm25 scores, fast sparse queries.

Every (term, passage) weight is precomputed once (build.py) into a sparse passage × term CSC
matrix, so a query only touches the postings of its own terms. In ``"okapi"`` mode the
scores are bit-identical to ``rank_bm25.BM25Okapi(corpus, k1, b, epsilon).get_scores(query)``;
rank-bm25's crashes on empty corpora stay out of this class. On disk: index_file.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, get_args

import numpy as np
import numpy.typing as npt

from bot.core.retrieval.build import (
    EncodedCorpus,
    IdfMode,
    IndexArrays,
    build_arrays,
    encode_token_lists,
)
from bot.core.retrieval.index_file import load_index, save_index

__all__ = ["BM25Index", "Hit", "IdfMode"]

# Query terms in more than 1/_DENSE_FRACTION of the passages are added as a dense vector.
_DENSE_FRACTION = 16
# Search samples about this many scores (at least) to bound the k-th best from below.
_SAMPLE_SIZE = 1024
# Up to this many candidates are checked by binary search in the postings rather than by
# marking every passage that holds a term.
_CHECKED_AT_MOST = 4096


class Hit(NamedTuple):
    """One search result: a passage position and its BM25 score."""

    doc: int  # passage position in the corpus given to the constructor
    score: float


class BM25Index:
    """An immutable BM25 index over a corpus of token lists (the analyzer lives elsewhere)."""

    def __init__(
        self,
        corpus: Sequence[Sequence[str]] | EncodedCorpus,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        idf_mode: IdfMode = "okapi",
        head_lengths: Sequence[int] | None = None,
    ) -> None:
        """Index `corpus` (token lists, or already term ids); ``head_lengths[i]`` leading
        tokens of passage i are its head.

        A head is text shared by several passages (the article title): it is scored like the
        rest, but ``body_doc_freq`` tells how many passages have a term outside of it.
        """
        if idf_mode not in get_args(IdfMode):
            raise ValueError(f"idf_mode must be one of {get_args(IdfMode)}, not {idf_mode!r}")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        encoded = corpus if isinstance(corpus, EncodedCorpus) else encode_token_lists(corpus)
        self._set(
            build_arrays(
                encoded,
                k1=float(k1),
                b=float(b),
                epsilon=float(epsilon),
                idf_mode=idf_mode,
                head_lengths=head_lengths,
            )
        )

    def _set(self, arrays: IndexArrays) -> None:
        self._arrays = arrays
        self._idf_mode: IdfMode = arrays.idf_mode
        self._vocabulary = arrays.vocabulary
        self._idf = arrays.idf
        self._doc_len = arrays.doc_len
        self._matrix = arrays.matrix
        self._head_only = arrays.head_only

    # -- introspection ---------------------------------------------------------------

    @property
    def size(self) -> int:
        """Return the number of passages."""
        return len(self._doc_len)

    @property
    def vocabulary_size(self) -> int:
        """Return the number of distinct terms."""
        return len(self._vocabulary)

    @property
    def idf_mode(self) -> IdfMode:
        """Return the idf formula in use."""
        return self._idf_mode

    def terms(self) -> Iterator[str]:
        """Every indexed term, in order of first occurrence."""
        return iter(self._vocabulary)

    def idf(self, term: str) -> float:
        """Return the idf of a term (0.0 for a term absent from the corpus)."""
        column = self._vocabulary.get(term)
        return 0.0 if column is None else float(self._idf[column])

    def doc_freq(self, term: str) -> int:
        """Return the number of passages containing a term."""
        column = self._vocabulary.get(term)
        if column is None:
            return 0
        indptr = self._matrix.indptr
        return int(indptr[column + 1] - indptr[column])

    def doc_freqs(self) -> npt.NDArray[np.int64]:
        """Return how many passages contain each term, in column order."""
        return np.diff(self._matrix.indptr).astype(np.int64, copy=False)

    def body_doc_freq(self, term: str) -> int | None:
        """Return how many passages contain a term outside their head (the article title).

        None when the index was built without ``head_lengths`` (heads unknown).
        """
        if self._head_only is None:
            return None
        column = self._vocabulary.get(term)
        if column is None:
            return 0
        return self.doc_freq(term) - int(self._head_only[column])

    # -- queries -----------------------------------------------------------------------

    def _postings(self, term: str) -> tuple[npt.NDArray, npt.NDArray] | None:
        """Return (passage positions, weights) of a term, or None if the term is unknown."""
        column = self._vocabulary.get(term)
        if column is None:
            return None
        start, end = self._matrix.indptr[column], self._matrix.indptr[column + 1]
        return self._matrix.indices[start:end], self._matrix.data[start:end]

    def matching(self, query: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Mark the passages that contain at least one query term.

        With okapi idf a matching passage can score zero or less (rank-bm25's idf on small
        corpora), so "score > 0" is not the same as "matches".
        """
        mask = np.zeros(self.size, dtype=np.bool_)
        for term in set(query):
            postings = self._postings(term)
            if postings is not None:
                mask[postings[0]] = True
        return mask

    def get_scores(self, query: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return the BM25 score of every passage for a tokenised query (float64, one each)."""
        scores = np.zeros(self.size, dtype=np.float64)
        # One addition per query token, in query order, like rank-bm25: a repeated token is
        # added again (not multiplied), so each passage's sum rounds exactly as there.
        for term in query:
            postings = self._postings(term)
            if postings is None:
                continue
            docs, weights = postings
            if len(docs) * _DENSE_FRACTION > self.size:
                # A common term: a dense add of its spread-out weights (0.0 where absent,
                # which is also what rank-bm25 adds) beats gather-add-scatter by ~3x.
                scores += np.bincount(docs, weights, minlength=self.size)
            else:
                scores[docs] += weights
        return scores

    def search(self, query: Sequence[str], k: int = 10) -> list[Hit]:
        """Return up to k passages with a positive score, best first, ties by lower position."""
        if k <= 0 or self.size == 0:
            return []
        return self.best(self.get_scores(query), k)

    def best(
        self, scores: npt.NDArray[np.float64], k: int, *, holding: Sequence[str] | None = None
    ) -> list[Hit]:
        """The k best passages by `scores`, best first, ties by lower position.

        Eligible are the passages with a positive score or, given `holding`, those holding
        at least one of those terms (whatever their score: okapi idf can be negative).
        """
        if k <= 0 or len(scores) == 0:
            return []
        # The k-th best of an evenly spread sample bounds the k-th best score from below:
        # when k eligible passages reach it, nothing below it can enter the top k, and only
        # those few need checking and sorting instead of the whole (mostly zero) array.
        threshold = 0.0
        step = len(scores) // _SAMPLE_SIZE
        sample = scores[::step] if step >= 2 else scores[:0]
        if k < len(sample):
            threshold = max(float(np.partition(sample, len(sample) - k)[len(sample) - k]), 0.0)
        if threshold > 0:
            candidates = np.flatnonzero(scores >= threshold)
            hits = _best(candidates, scores[candidates], k)
            if holding is None:
                return hits
            # Usually the best k all hold a term (a passage matching only an expansion
            # term seldom ranks that high): then they are the eligible best k too.
            held = self.holds_any(holding, np.array([hit.doc for hit in hits], dtype=np.int64))
            if held.all():
                return hits
            candidates = candidates[self.holds_any(holding, candidates)]
            if len(candidates) >= k:
                return _best(candidates, scores[candidates], k)
        candidates = np.flatnonzero(scores > 0)
        if holding is None:
            return _best(candidates, scores[candidates], k)
        if len(candidates) <= _CHECKED_AT_MOST:
            # Eligible passages scoring zero or less rank below any positive one: when k
            # positive ones hold a term, the rest need not be found.
            candidates = candidates[self.holds_any(holding, candidates)]
            if len(candidates) >= k:
                return _best(candidates, scores[candidates], k)
        candidates = np.flatnonzero(self.matching(holding))
        return _best(candidates, scores[candidates], k)

    def holds_any(self, terms: Iterable[str], docs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """For each passage position in `docs`, whether it holds at least one of `terms`."""
        held = np.zeros(len(docs), dtype=np.bool_)
        for term in set(terms):
            held |= self._held(term, docs)
        return held

    def _held(self, term: str, docs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """For each passage position in `docs`, whether it holds `term`."""
        postings = self._postings(term)
        if postings is None or not len(postings[0]):
            return np.zeros(len(docs), dtype=np.bool_)
        ids = postings[0]
        # Sorted postings: one binary search per term for all the passages, in the
        # postings' own dtype (a mixed one would copy the whole posting list first).
        wanted = docs.astype(ids.dtype, copy=False)
        at = np.minimum(ids.searchsorted(wanted), len(ids) - 1)
        return ids[at] == wanted

    def term_scores(self, query: Sequence[str], doc: int) -> dict[str, float]:
        """Return each query term's contribution to one passage's score, for terms it contains.

        Terms come in query order; a term repeated in the query contributes once per
        occurrence, so the values add up to ``get_scores(query)[doc]``.
        """
        if not 0 <= doc < self.size:
            raise IndexError(f"passage {doc} out of range for an index of {self.size}")
        contributions: dict[str, float] = {}
        for term in dict.fromkeys(query):
            postings = self._postings(term)
            if postings is None:
                continue
            docs, weights = postings
            position = int(np.searchsorted(docs, doc))
            if position < len(docs) and docs[position] == doc:
                weight = float(weights[position])
                total = 0.0
                for _ in range(list(query).count(term)):
                    total += weight
                contributions[term] = total
        return contributions

    def containing(self, terms: Iterable[str], docs: Sequence[int]) -> list[set[str]]:
        """For each passage position in `docs`, which of `terms` it contains (any count)."""
        wanted = np.asarray(docs, dtype=np.int64)
        found: list[set[str]] = [set() for _ in range(len(wanted))]
        for term in set(terms):
            for i in np.flatnonzero(self._held(term, wanted)).tolist():
                found[i].add(term)
        return found

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to one uncompressed .npz file (atomically replaced)."""
        save_index(self._arrays, path)

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        """Read an index written by ``save`` (ValueError if damaged or of another format)."""
        index = cls.__new__(cls)
        index._set(load_index(path))
        return index


def _best(candidates: npt.NDArray, scores: npt.NDArray, k: int) -> list[Hit]:
    """Return the k best (position, score) pairs, ties by lower position."""
    if len(candidates) > k:
        kth_best = np.partition(scores, len(scores) - k)[len(scores) - k]
        # Keep every tie of the k-th score so the tie-break below stays deterministic.
        keep = scores >= kth_best
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:k]
    return [
        Hit(doc, score)
        for doc, score in zip(candidates[order].tolist(), scores[order].tolist(), strict=True)
    ]
