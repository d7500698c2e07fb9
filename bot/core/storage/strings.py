"""Many strings as one UTF-8 blob and their end offsets: one buffer to store or send to a
worker process instead of a Python object per string."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class Packed(NamedTuple):
    """Strings as one UTF-8 blob (lone surrogates kept) and where each ends, in characters."""

    blob: npt.NDArray[np.uint8]
    ends: npt.NDArray[np.int64]


def pack_strings(strings: Sequence[str]) -> Packed:
    """Pack strings into one blob; `unpack_strings` gives them back."""
    ends = np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))
    blob = "".join(strings).encode("utf-8", "surrogatepass")
    return Packed(np.frombuffer(blob, dtype=np.uint8), ends)


def unpack_strings(blob: npt.NDArray[np.uint8], ends: npt.NDArray[np.integer]) -> list[str]:
    """The strings of a packed blob (ValueError if blob and offsets disagree)."""
    text = str(np.ascontiguousarray(blob, dtype=np.uint8).data, "utf-8", "surrogatepass")
    if len(ends) and ends[-1] != len(text):
        raise ValueError("string offsets disagree with the text")
    return [text[a:b] for a, b in pairwise([0, *ends.tolist()])]
