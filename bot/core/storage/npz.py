"""`.npz` files as `np.savez` writes them, with members memory-mapped instead of read."""

from __future__ import annotations

import mmap
import struct
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt


def write_npz(
    file: BinaryIO,
    arrays: Mapping[str, npt.ArrayLike],
    streamed: Mapping[str, Iterable[bytes | memoryview]] | None = None,
) -> None:
    """Write `arrays` exactly as ``np.savez`` does (uncompressed, zip64), then each of
    `streamed` as a uint8 array written piece by piece (never joined into one more copy)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
        for name, pieces in (streamed or {}).items():
            parts = list(pieces)
            header = {"descr": "|u1", "fortran_order": False, "shape": (sum(map(len, parts)),)}
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, header)
                for part in parts:
                    member.write(part)


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


def release(array: npt.NDArray) -> None:
    """Drop a mapped array's pages from this process (they stay in the page cache)."""
    base = array.base
    mapping = base.obj if isinstance(base, memoryview) else base
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)
