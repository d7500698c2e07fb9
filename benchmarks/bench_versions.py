"""Cost of knowledge versions next to the load they follow, measured in the same run.

Every successful (re)load captures the folder as a version. This reports, for a generated
folder of real English, the time of a cold capture (every file read, hashed and stored), a
warm capture (nothing changed: stat data only), a capture after one file changed, and a
restore of one changed file, each as a ratio of a plain `load_knowledge` of the same folder
(parsing every file, no parse cache): the work a reload does anyway.

    python benchmarks/bench_versions.py [PASSAGES]     # default 100000
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import write_knowledge

from bot.core.articles.loader import load_knowledge
from bot.knowledge.versions import VersionStore


def timed(work: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    passages = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "knowledge"
        files = write_knowledge(folder, passages)
        size = sum(p.stat().st_size for p in folder.rglob("*.md"))
        load = timed(lambda: load_knowledge(folder, max_file_bytes=50 * 1024 * 1024), 1)

        def cold() -> None:
            shutil.rmtree(Path(scratch) / "versions", ignore_errors=True)
            VersionStore(
                Path(scratch) / "versions", folder, keep=20, max_file_bytes=1 << 26
            ).capture()

        cold_s = timed(cold)
        store = VersionStore(Path(scratch) / "versions", folder, keep=20, max_file_bytes=1 << 26)
        first = store.capture()
        store.record(first, actor=None, action="start", summary="", index_version="1")
        warm_s = timed(store.capture)
        victim = sorted(folder.rglob("*.md"))[0]
        original = victim.read_bytes()

        def one_changed() -> None:
            victim.write_bytes(original + b"\nOne more paragraph.\n")
            store.capture()
            victim.write_bytes(original)

        changed_s = timed(one_changed)
        victim.write_bytes(original + b"\nOne more paragraph.\n")
        restore_s = timed(lambda: store.restore(first))
        stored = sum(p.stat().st_size for p in (Path(scratch) / "versions" / "objects").iterdir())

    print(f"folder: {files:,} files, {size / 2**20:,.1f} MiB, ~{passages:,} passages")
    print(f"baseline load_knowledge (parse, no cache): {load:.3f} s")
    for label, seconds in (
        ("capture, cold (read, hash, store all)", cold_s),
        ("capture, warm (nothing changed)", warm_s),
        ("capture, one file changed (incl. its write)", changed_s),
        ("restore, one file differs", restore_s),
    ):
        print(f"  {label:<45} {seconds:8.3f} s  = {seconds / load:6.1%} of the load")
    print(f"versions/objects after these: {stored / 2**20:,.1f} MiB")


if __name__ == "__main__":
    main()
