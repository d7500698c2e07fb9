"""Replace a file atomically: readers see the old file or the new one, never a part."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# Older than any build: left by a killed writer, not in progress.
STALE_PARTIAL_S = 3600


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a new file under a name of its own, then rename it over `path`.

    A name of its own: a file in use is memory-mapped by every process serving from it, so
    no writer may ever write into it; with one shared temporary name, two writers (a
    reload and `bot index`) could. Leftovers of killed writers are removed after an hour.
    """
    partial = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.partial")
    try:
        with partial.open("xb") as file:  # "x": never an existing file; the umask applies
            write(file)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    prune_stale_partials(path.parent, f"{path.name}.*.partial")


def prune_stale_partials(folder: Path, pattern: str = "*.partial") -> None:
    """Remove the leftovers of writers killed more than STALE_PARTIAL_S ago."""
    cutoff = time.time() - STALE_PARTIAL_S
    for partial in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
