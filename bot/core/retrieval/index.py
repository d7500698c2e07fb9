"""BM25 index over pre-tokenised passages: exact rank-bm25 scores, fast sparse queries.

Every (term, passage) weight is precomputed once into a sparse passage × term CSC matrix,
so a query only touches the postings of its own terms. In ``"okapi"`` mode the scores are
bit-identical to ``rank_bm25.BM25Okapi(corpus, k1, b, epsilon).get_scores(query)``;
rank-bm25's crashes on empty corpora stay out of this class.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, pairwise
from pathlib import Path
from typing import Literal, NamedTuple, get_args

import numpy as np
import numpy.typing as npt
from scipy import sparse

from bot.core.retrieval.scoring import bm25_weight, length_norm, lucene_idf, okapi_idf

IdfMode = Literal["okapi", "lucene"]

_FORMAT_VERSION = 2  # 2: per-term counts of passages matching only in their head
# Tokens per build chunk: bounds the temporaries of the build, whatever the corpus size, and
# the GIL hold of each numpy call on them (~10 ms at 2M tokens stalled an event loop ~40 ms).
_CHUNK_TOKENS = 1 << 19
# Placing postings, freed chunks are handed back to the system every this many chunks.
_TRIM_EVERY_CHUNKS = 8
# Postings per slice when turning term frequencies into weights (bounds temporaries too).
_WEIGHT_SLICE = 1 << 22
# Passages whose tokens are turned into ids per call that holds the GIL (~25k tokens, ~2 ms).
_GIL_BATCH_DOCS = 256
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


class GrowingVocabulary(dict[str, int]):
    """Term → id in order of first occurrence; a lookup of a new term assigns the next id."""

    def __missing__(self, term: str) -> int:
        self[term] = term_id = len(self)
        return term_id


class EncodedCorpus(NamedTuple):
    """A corpus already turned into term ids, streamed chunk by chunk.

    Each chunk is (the int32 ids of its tokens, passage after passage; tokens per passage).
    Ids are in order of first occurrence in the corpus (rank-bm25's term order); ``terms``
    maps every term of the chunks consumed so far to its id.
    """

    terms: dict[str, int]
    chunks: Iterable[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]


class _ChunkPostings(NamedTuple):
    """One chunk's postings, term by term (passages ascending within a term)."""

    first_doc: int
    term_counts: npt.NDArray[np.int64]  # postings per term id, for the ids known then
    rows: npt.NDArray[np.integer]  # passage, counted from first_doc
    tf: npt.NDArray[np.integer]


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
        self._k1 = float(k1)
        self._b = float(b)
        self._epsilon = float(epsilon)
        self._idf_mode: IdfMode = idf_mode

        encoded = corpus if isinstance(corpus, EncodedCorpus) else encode_token_lists(corpus)
        doc_len, chunks, head_only = _collect_postings(encoded, head_lengths)
        _return_freed_memory()  # before the matrix is allocated: that is the build's peak
        vocabulary = dict(encoded.terms)
        n_docs, n_terms = len(doc_len), len(vocabulary)
        total_tokens = int(doc_len.sum())
        # rank-bm25 divides Python ints, so do we (the same correctly rounded float).
        self._avgdl = total_tokens / n_docs if total_tokens else 0.0
        doc_freq = np.zeros(n_terms, dtype=np.int64)
        for chunk in chunks:
            doc_freq[: len(chunk.term_counts)] += chunk.term_counts
        if self._idf_mode == "okapi":
            self._idf = okapi_idf(n_docs, doc_freq, self._epsilon)
        else:
            self._idf = lucene_idf(n_docs, doc_freq)
        nnz = int(doc_freq.sum())
        index_dtype = _index_dtype(max(nnz, n_docs))
        indptr = np.zeros(n_terms + 1, dtype=index_dtype)
        np.cumsum(doc_freq, out=indptr[1:])
        indices, weights = self._place_postings(chunks, indptr, doc_len, index_dtype)
        self._matrix = sparse.csc_array((weights, indices, indptr), shape=(n_docs, n_terms))
        _return_freed_memory()  # the chunks, freed while their postings were placed
        self._vocabulary: dict[str, int] = vocabulary
        self._doc_len = doc_len
        self._head_only = head_only

    def _place_postings(
        self,
        chunks: list[_ChunkPostings],
        indptr: npt.NDArray,
        doc_len: npt.NDArray[np.int64],
        index_dtype: type[np.signedinteger],
    ) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
        """Weigh each chunk's postings and move them into their columns, freeing the chunk.

        The whole matrix is written once, in its final layout: no second copy of the postings
        (a CSR then a CSC) is ever held, and the chunks shrink as the columns fill.
        """
        nnz = int(indptr[-1])
        indices = _small_page_array(nnz, index_dtype)
        weights = _small_page_array(nnz, np.float64)
        if nnz == 0:
            return indices, weights
        norm = length_norm(doc_len, self._k1, self._b, self._avgdl)
        filled = indptr[:-1].astype(np.int64)  # next free slot of each column
        while chunks:
            chunk = chunks.pop(0)
            counts = chunk.term_counts
            n_chunk_terms = len(counts)
            chunk_starts = np.cumsum(counts) - counts
            # Postings of a term in this chunk go right after the earlier chunks' ones.
            slots = np.repeat(filled[:n_chunk_terms] - chunk_starts, counts)
            slots += np.arange(len(chunk.rows), dtype=np.int64)
            docs = chunk.rows.astype(np.int64) + chunk.first_doc
            term_of_posting = np.repeat(np.arange(n_chunk_terms), counts)
            indices[slots] = docs
            weights[slots] = bm25_weight(
                chunk.tf.astype(np.int32), norm[docs], self._idf[term_of_posting], self._k1
            )
            filled[:n_chunk_terms] += counts
            del chunk, slots, docs, term_of_posting
            if len(chunks) % _TRIM_EVERY_CHUNKS == 0:
                _return_freed_memory()  # the placed chunks': the matrix grows as they go
        return indices, weights

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

    def terms(self) -> list[str]:
        """Return the vocabulary in column order."""
        return list(self._vocabulary)

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
        terms = list(self._vocabulary)  # ids are dict insertion order
        term_ends = np.cumsum(np.fromiter(map(len, terms), dtype=np.int64, count=len(terms)))
        blob = "".join(terms).encode("utf-8", "surrogatepass")
        arrays = {
            "format_version": np.array(_FORMAT_VERSION),
            "params": np.array([self._k1, self._b, self._epsilon, self._avgdl]),
            "idf_mode": np.array(self._idf_mode),
            "terms_utf8": np.frombuffer(blob, dtype=np.uint8),
            "term_ends": term_ends,  # in characters of the decoded string
            "idf": self._idf,
            "doc_len": self._doc_len,
            "indptr": self._matrix.indptr,
            "indices": self._matrix.indices,
            "data": self._matrix.data,
            "has_heads": np.array(self._head_only is not None),
            "head_only": self._head_only if self._head_only is not None else np.zeros(0, np.int64),
        }
        path = Path(path)
        # A name of its own, so two processes saving the same index never write one file.
        partial = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.partial")
        try:
            with partial.open("wb") as file:
                np.savez(file, **arrays)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        """Read an index written by ``save``."""
        with np.load(Path(path), allow_pickle=False) as stored:
            version = int(stored["format_version"])
            if version != _FORMAT_VERSION:
                raise ValueError(f"index file format {version}, expected {_FORMAT_VERSION}")
            k1, b, epsilon, avgdl = stored["params"].tolist()
            text = stored["terms_utf8"].tobytes().decode("utf-8", "surrogatepass")
            ends = stored["term_ends"].tolist()
            terms = [text[start:end] for start, end in pairwise([0, *ends])]
            index = cls.__new__(cls)
            index._k1, index._b, index._epsilon, index._avgdl = k1, b, epsilon, avgdl
            index._idf_mode = str(stored["idf_mode"])  # type: ignore[assignment]
            index._vocabulary = dict(zip(terms, range(len(terms)), strict=True))
            index._idf = stored["idf"]
            index._doc_len = stored["doc_len"]
            indptr = stored["indptr"]
            # The postings (most of the file) are mapped, not copied: start-up does not pay
            # for reading them and their pages stay shared with the page cache.
            mapped = map_npz_members(Path(path), ("data", "indices"))
            data, indices = mapped["data"], mapped["indices"]
            _check_arrays(len(index._doc_len), len(terms), index._idf, data, indices, indptr)
            index._head_only = None
            if bool(stored["has_heads"]):
                head_only = stored["head_only"]
                if head_only.shape != (len(terms),) or np.any(head_only < 0):
                    raise ValueError("damaged index file: head counts disagree with the terms")
                if np.any(head_only > np.diff(indptr)):
                    raise ValueError("damaged index file: head counts exceed the postings")
                index._head_only = head_only
            index._matrix = sparse.csc_array(
                (data, indices, indptr), shape=(len(index._doc_len), len(terms))
            )
        return index


def map_npz_members(path: Path, names: Sequence[str]) -> dict[str, npt.NDArray]:
    """Memory-map arrays stored (uncompressed, as ``np.savez`` writes them) in an .npz file.

    Falls back to reading a member that cannot be mapped (compressed, or not a plain array).
    """
    out: dict[str, npt.NDArray] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        whole = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        for name in names:
            info = archive.getinfo(f"{name}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            raw.seek(info.header_offset)
            local = raw.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"damaged file {path.name}: bad zip member header")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            raw.seek(start)
            version = np.lib.format.read_magic(raw)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
            count = int(np.prod(shape, dtype=np.int64))
            offset = raw.tell()
            if dtype.hasobject or fortran or len(shape) != 1:
                raise ValueError(f"damaged file {path.name}: {name} is not a flat array")
            if offset + count * dtype.itemsize > start + info.file_size:
                raise ValueError(f"damaged file {path.name}: {name} is truncated")
            out[name] = np.frombuffer(whole, dtype=dtype, count=count, offset=offset)
    return out


def _all_chunks(array: npt.NDArray, test: Callable[[npt.NDArray], bool]) -> bool:
    """Test an array slice by slice; a mapped array's pages are dropped after each slice, so
    checking a large index never holds all of it in this process at once."""
    for start in range(0, len(array), _WEIGHT_SLICE):
        passed = test(array[start : start + _WEIGHT_SLICE])
        _release(array)
        if not passed:
            return False
    return True


def _release(array: npt.NDArray) -> None:
    """Drop a mapped array's pages from this process (they stay in the page cache)."""
    base = array.base
    mapping = base.obj if isinstance(base, memoryview) else base
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def _check_arrays(
    n_docs: int,
    n_terms: int,
    idf: npt.NDArray,
    data: npt.NDArray,
    indices: npt.NDArray,
    indptr: npt.NDArray,
) -> None:
    """Refuse stored arrays that do not form a valid index (ValueError), before any query."""
    problems = []
    if idf.shape != (n_terms,) or indptr.shape != (n_terms + 1,):
        problems.append("term arrays disagree with the vocabulary")
    elif indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        problems.append("postings offsets are not monotonic")
    if data.shape != indices.shape or data.dtype != np.float64:
        problems.append("postings arrays disagree")
    elif not _all_chunks(indices, lambda part: part.min() >= 0 and part.max() < n_docs):
        problems.append("postings point outside the passages")
    elif not _all_chunks(data, lambda part: bool(np.all(np.isfinite(part)))):
        problems.append("weights are not finite")
    if problems:
        raise ValueError(f"damaged index file: {problems[0]}")


def _head_terms(
    token_ids: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.int64],
    heads: npt.NDArray[np.int64],
    n_terms: int,
) -> sparse.csr_array:
    """Return the passage × term frequencies of the heads alone (first tokens of each passage)."""
    starts = np.cumsum(lengths) - lengths
    in_head = np.arange(len(token_ids)) - np.repeat(starts, lengths) < np.repeat(heads, lengths)
    head = sparse.csr_array(
        (np.ones(int(in_head.sum()), dtype=np.int32), token_ids[in_head], np.r_[0, heads.cumsum()]),
        shape=(len(lengths), n_terms),
    )
    head.sum_duplicates()
    return head


def _head_only_counts(chunk: sparse.csr_array, head: sparse.csr_array) -> npt.NDArray[np.int64]:
    """Count, per term id, the passages of a chunk whose only occurrences are in their head.

    A passage has a term only in its head when its term frequency equals the head's.
    """
    n_terms = np.int64(chunk.shape[1])
    rows = np.arange(chunk.shape[0], dtype=np.int64)
    # (passage, term) keys in row-major order: the chunk's own order after sum_duplicates.
    keys = np.repeat(rows, np.diff(chunk.indptr)) * n_terms + chunk.indices
    head_keys = np.repeat(rows, np.diff(head.indptr)) * n_terms + head.indices
    tf = chunk.data[np.searchsorted(keys, head_keys)]
    return np.bincount(head.indices[tf == head.data], minlength=chunk.shape[1])


def encode_token_lists(corpus: Iterable[Sequence[str]]) -> EncodedCorpus:
    """Turn token lists into term ids, ~_CHUNK_TOKENS tokens per chunk, ids by first occurrence."""
    vocabulary = GrowingVocabulary()
    return EncodedCorpus(vocabulary, _token_list_chunks(corpus, vocabulary))


def _token_list_chunks(
    corpus: Iterable[Sequence[str]], vocabulary: GrowingVocabulary
) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]:
    lookup = vocabulary.__getitem__
    docs = iter(corpus)
    while True:
        chunk_docs: list[Sequence[str]] = []
        n_tokens = 0
        for doc in docs:
            chunk_docs.append(doc)
            n_tokens += len(doc)
            if n_tokens >= _CHUNK_TOKENS:
                break
        if not chunk_docs:
            return
        lengths = np.fromiter(map(len, chunk_docs), dtype=np.int64, count=len(chunk_docs))
        token_ids = np.empty(n_tokens, dtype=np.int32)
        filled = 0
        # A few hundred passages at a time: fromiter over a C-level map never yields the GIL,
        # and a whole chunk in one call stalled other threads (an event loop) for ~150 ms.
        for first in range(0, len(chunk_docs), _GIL_BATCH_DOCS):
            batch = chunk_docs[first : first + _GIL_BATCH_DOCS]
            count = sum(map(len, batch))
            token_ids[filled : filled + count] = np.fromiter(
                map(lookup, chain.from_iterable(batch)), dtype=np.int32, count=count
            )
            filled += count
        yield token_ids, lengths


def _collect_postings(
    encoded: EncodedCorpus, head_lengths: Sequence[int] | None
) -> tuple[npt.NDArray[np.int64], list[_ChunkPostings], npt.NDArray[np.int64] | None]:
    """Return the passage lengths, each chunk's postings term by term, and, given head
    lengths, per term the passages that have it only in their head.

    scipy sums the duplicate ids of each passage into term frequencies, chunk by chunk: the
    corpus is never held whole, as tokens or as ids.
    """
    heads = None if head_lengths is None else np.asarray(head_lengths, dtype=np.int64)
    lengths: list[npt.NDArray[np.int64]] = []
    chunks: list[_ChunkPostings] = []
    head_counts: list[npt.NDArray[np.int64]] = []
    first_doc = 0
    for token_ids, doc_len in encoded.chunks:
        n_docs, n_terms = len(doc_len), len(encoded.terms)
        indptr = np.concatenate(([0], np.cumsum(doc_len)))
        if heads is not None:  # before the chunk's sum_duplicates, which may sort ids in place
            chunk_heads = _chunk_heads(heads, first_doc, doc_len)
            head = _head_terms(token_ids, doc_len, chunk_heads, n_terms)
        chunk = sparse.csr_array(
            (np.ones(len(token_ids), dtype=np.int32), token_ids, indptr), shape=(n_docs, n_terms)
        )
        chunk.sum_duplicates()  # sorts each passage's term ids and adds up repeats
        if heads is not None:
            head_counts.append(_head_only_counts(chunk, head))
        by_term = chunk.tocsc()  # passages ascending within each term
        # Kept until every chunk is in: the narrowest integers that hold them (~3 bytes a
        # posting instead of 8; a chunk has fewer than 65,536 passages unless they are empty).
        chunks.append(
            _ChunkPostings(
                first_doc,
                np.diff(by_term.indptr).astype(np.int64),
                _narrowest(by_term.indices, n_docs - 1),
                _narrowest(by_term.data, int(by_term.data.max(initial=0))),
            )
        )
        del chunk, by_term
        lengths.append(doc_len.astype(np.int64, copy=False))
        first_doc += n_docs
    if heads is not None and len(heads) != first_doc:
        raise ValueError("head_lengths needs one length per passage, within the passage")
    doc_lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    head_only = None
    if heads is not None:
        head_only = np.zeros(len(encoded.terms), dtype=np.int64)
        for counts_of_chunk in head_counts:
            head_only[: len(counts_of_chunk)] += counts_of_chunk
    return doc_lengths, chunks, head_only


def _small_page_array(n: int, dtype: type[np.generic]) -> npt.NDArray:
    """An uninitialised array on ordinary 4 KiB pages, resident only as it is written.

    numpy asks for 2 MiB huge pages for large arrays: placing the first chunks' postings in
    every column touched every huge page, so the whole matrix (~600 MiB at 1M passages) was
    resident while the chunks it replaces still were.
    """
    size = n * np.dtype(dtype).itemsize
    if size == 0:
        return np.empty(n, dtype=dtype)
    buffer = mmap.mmap(-1, size)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        buffer.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(buffer, dtype=dtype, count=n)


def _return_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    The chunks' many freed temporaries stay resident otherwise, fragmented between the
    postings kept: 27 MiB of the 100k build's 70 MiB growth before placing the postings.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def _narrowest(values: npt.NDArray, largest: int) -> npt.NDArray:
    """The non-negative `values` (at most `largest`) as uint8, uint16 or as they are."""
    for dtype in (np.uint8, np.uint16):
        if largest <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


def _chunk_heads(
    heads: npt.NDArray[np.int64], first_doc: int, doc_len: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The head lengths of one chunk's passages, checked (0 <= head <= passage length)."""
    chunk_heads = heads[first_doc : first_doc + len(doc_len)]
    if chunk_heads.shape != doc_len.shape or np.any(chunk_heads < 0):
        raise ValueError("head_lengths needs one length per passage, within the passage")
    if np.any(chunk_heads > doc_len):
        raise ValueError("head_lengths needs one length per passage, within the passage")
    return chunk_heads


def _index_dtype(nnz: int) -> type[np.signedinteger]:
    """Return int32 for sparse index arrays unless the postings outgrow it."""
    return np.int32 if nnz < np.iinfo(np.int32).max else np.int64


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
