"""Build side of the BM25 index: token lists or encoded passages → the weighted postings.

The corpus streams in chunks of about CHUNK_TOKENS tokens; each chunk's postings are kept
in the narrowest integers until every term's document frequency (hence idf) is known, then
weighed and moved into their final column, so the build never holds the corpus whole nor
two copies of the postings.
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import sparse

from bot.core.retrieval.scoring import bm25_weight, length_norm, lucene_idf, okapi_idf

IdfMode = Literal["okapi", "lucene"]

# Tokens per build chunk: bounds the temporaries of the build, whatever the corpus size, and
# the GIL hold of each numpy call on them (~10 ms at 2M tokens stalled an event loop ~40 ms).
CHUNK_TOKENS = 1 << 19
# Placing postings, freed chunks are handed back to the system every this many chunks.
_TRIM_EVERY_CHUNKS = 8
# Passages whose tokens are turned into ids per call that holds the GIL (~25k tokens, ~2 ms).
_GIL_BATCH_DOCS = 256


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


class IndexArrays(NamedTuple):
    """Everything a BM25 index is: its parameters, vocabulary and weighted postings."""

    k1: float
    b: float
    epsilon: float
    avgdl: float
    idf_mode: IdfMode
    vocabulary: dict[str, int]  # term → column, in order of first occurrence
    idf: npt.NDArray[np.float64]
    doc_len: npt.NDArray[np.int64]
    matrix: sparse.csc_array  # passage × term BM25 weights
    head_only: npt.NDArray[np.int64] | None  # per term: passages having it only in the head


def build_arrays(
    encoded: EncodedCorpus,
    *,
    k1: float,
    b: float,
    epsilon: float,
    idf_mode: IdfMode,
    head_lengths: Sequence[int] | None,
) -> IndexArrays:
    """Weigh every (term, passage) of an encoded corpus into a passage × term CSC matrix."""
    doc_len, chunks, head_only = _collect_postings(encoded, head_lengths)
    _return_freed_memory()  # before the matrix is allocated: that is the build's peak
    vocabulary = dict(encoded.terms)
    n_docs, n_terms = len(doc_len), len(vocabulary)
    total_tokens = int(doc_len.sum())
    # rank-bm25 divides Python ints, so do we (the same correctly rounded float).
    avgdl = total_tokens / n_docs if total_tokens else 0.0
    doc_freq = np.zeros(n_terms, dtype=np.int64)
    for chunk in chunks:
        doc_freq[: len(chunk.term_counts)] += chunk.term_counts
    if idf_mode == "okapi":
        idf = okapi_idf(n_docs, doc_freq, epsilon)
    else:
        idf = lucene_idf(n_docs, doc_freq)
    nnz = int(doc_freq.sum())
    index_dtype = _index_dtype(max(nnz, n_docs))
    indptr = np.zeros(n_terms + 1, dtype=index_dtype)
    np.cumsum(doc_freq, out=indptr[1:])
    norm = length_norm(doc_len, k1, b, avgdl) if nnz else None
    indices, weights = _place_postings(chunks, indptr, norm, idf, k1, index_dtype)
    matrix = sparse.csc_array((weights, indices, indptr), shape=(n_docs, n_terms))
    _return_freed_memory()  # the chunks, freed while their postings were placed
    return IndexArrays(k1, b, epsilon, avgdl, idf_mode, vocabulary, idf, doc_len, matrix, head_only)


def _place_postings(
    chunks: list[_ChunkPostings],
    indptr: npt.NDArray,
    norm: npt.NDArray[np.float64] | None,
    idf: npt.NDArray[np.float64],
    k1: float,
    index_dtype: type[np.signedinteger],
) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
    """Weigh each chunk's postings and move them into their columns, freeing the chunk.

    The whole matrix is written once, in its final layout: no second copy of the postings
    (a CSR then a CSC) is ever held, and the chunks shrink as the columns fill.
    """
    nnz = int(indptr[-1])
    indices = _small_page_array(nnz, index_dtype)
    weights = _small_page_array(nnz, np.float64)
    if nnz == 0 or norm is None:
        return indices, weights
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
            chunk.tf.astype(np.int32), norm[docs], idf[term_of_posting], k1
        )
        filled[:n_chunk_terms] += counts
        del chunk, slots, docs, term_of_posting
        if len(chunks) % _TRIM_EVERY_CHUNKS == 0:
            _return_freed_memory()  # the placed chunks': the matrix grows as they go
    return indices, weights


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


def encode_token_lists(
    corpus: Iterable[Sequence[str]], chunk_tokens: int = CHUNK_TOKENS
) -> EncodedCorpus:
    """Turn token lists into term ids, ~`chunk_tokens` per chunk, ids by first occurrence."""
    vocabulary = GrowingVocabulary()
    return EncodedCorpus(vocabulary, _token_list_chunks(corpus, vocabulary, chunk_tokens))


def _token_list_chunks(
    corpus: Iterable[Sequence[str]], vocabulary: GrowingVocabulary, chunk_tokens: int
) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]]:
    lookup = vocabulary.__getitem__
    docs = iter(corpus)
    while True:
        chunk_docs: list[Sequence[str]] = []
        n_tokens = 0
        for doc in docs:
            chunk_docs.append(doc)
            n_tokens += len(doc)
            if n_tokens >= chunk_tokens:
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
