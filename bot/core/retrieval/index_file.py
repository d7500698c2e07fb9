"""The BM25 index on disk: one uncompressed .npz, its postings memory-mapped when loaded.

A file is only ever replaced, never written in place (``write_atomically``): every process
serving from it maps its pages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from bot.core.retrieval.build import IndexArrays
from bot.core.storage.atomic import write_atomically
from bot.core.storage.npz import map_npz_members, release, write_npz
from bot.core.storage.strings import pack_strings, unpack_strings

FORMAT_VERSION = 2  # 2: per-term counts of passages matching only in their head
# Postings checked per slice when loading: a mapped array's pages are dropped after each.
_CHECK_SLICE = 1 << 22


def save_index(arrays: IndexArrays, path: Path) -> None:
    """Write an index to one uncompressed .npz file (atomically replaced)."""
    terms = pack_strings(list(arrays.vocabulary))  # ids are dict insertion order
    head_only = arrays.head_only
    stored = {
        "format_version": np.array(FORMAT_VERSION),
        "params": np.array([arrays.k1, arrays.b, arrays.epsilon, arrays.avgdl]),
        "idf_mode": np.array(arrays.idf_mode),
        "terms_utf8": terms.blob,
        "term_ends": terms.ends,  # in characters of the decoded string
        "idf": arrays.idf,
        "doc_len": arrays.doc_len,
        "indptr": arrays.matrix.indptr,
        "indices": arrays.matrix.indices,
        "data": arrays.matrix.data,
        "has_heads": np.array(head_only is not None),
        "head_only": head_only if head_only is not None else np.zeros(0, np.int64),
    }
    write_atomically(Path(path), lambda file: write_npz(file, stored))


def load_index(path: Path) -> IndexArrays:
    """Read an index written by ``save_index`` (ValueError if it is damaged or foreign)."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as stored:
        version = int(stored["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"index file format {version}, expected {FORMAT_VERSION}")
        k1, b, epsilon, avgdl = stored["params"].tolist()
        terms = unpack_strings(stored["terms_utf8"], stored["term_ends"])
        idf_mode = str(stored["idf_mode"])
        if idf_mode not in ("okapi", "lucene"):
            raise ValueError(f"damaged index file: idf mode {idf_mode!r}")
        idf = stored["idf"]
        doc_len = stored["doc_len"]
        indptr = stored["indptr"]
        # The postings (most of the file) are mapped, not copied: start-up does not pay
        # for reading them and their pages stay shared with the page cache.
        mapped = map_npz_members(path, ("data", "indices"))
        data, indices = mapped["data"], mapped["indices"]
        _check_arrays(len(doc_len), len(terms), idf, data, indices, indptr)
        head_only = None
        if bool(stored["has_heads"]):
            head_only = stored["head_only"]
            if head_only.shape != (len(terms),) or np.any(head_only < 0):
                raise ValueError("damaged index file: head counts disagree with the terms")
            if np.any(head_only > np.diff(indptr)):
                raise ValueError("damaged index file: head counts exceed the postings")
        matrix = sparse.csc_array((data, indices, indptr), shape=(len(doc_len), len(terms)))
    return IndexArrays(
        k1,
        b,
        epsilon,
        avgdl,
        "okapi" if idf_mode == "okapi" else "lucene",
        dict(zip(terms, range(len(terms)), strict=True)),
        idf,
        doc_len,
        matrix,
        head_only,
    )


def _all_chunks(array: npt.NDArray, test: Callable[[npt.NDArray], bool]) -> bool:
    """Test an array slice by slice; a mapped array's pages are dropped after each slice, so
    checking a large index never holds all of it in this process at once."""
    for start in range(0, len(array), _CHECK_SLICE):
        passed = test(array[start : start + _CHECK_SLICE])
        release(array)
        if not passed:
            return False
    return True


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
