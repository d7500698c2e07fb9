"""Watch mode: reload when files under the knowledge folder change, one reload per burst.

`watchfiles` waits until the folder has been quiet for `step_ms` (at most `debounce_ms`) and
hands over the whole burst at once. The reload is the usual one (validated, the old index
kept on failure); a refused one is reported through the service's reload listeners and not
retried: the next reload waits for the next change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1_600  # watchfiles' default: the longest a burst is gathered for
STEP_MS = 300  # quiet time that ends a burst (editors save in several writes)


class VisibleFiles:
    """Only changes the loader would see: nothing hidden (our own temporary files are)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def __call__(self, change: Change, path: str) -> bool:
        try:
            parts = Path(path).resolve().relative_to(self.folder).parts
        except ValueError:
            return False
        return not any(part.startswith(".") for part in parts)


async def watch_knowledge(
    folder: Path,
    on_change: Callable[[], Awaitable[object]],
    *,
    stop: asyncio.Event | None = None,
    debounce_ms: int = DEBOUNCE_MS,
    step_ms: int = STEP_MS,
) -> None:
    """Call `on_change` (the reload) once per burst of changes until `stop` is set."""
    log.info("watching %s for changes", folder)
    async for changes in awatch(
        folder,
        watch_filter=VisibleFiles(folder),
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,
        recursive=True,
    ):
        log.info("%d change(s) under %s", len(changes), folder)
        try:
            await on_change()
        except Exception:  # the watcher outlives one failed attempt; the next change retries
            log.exception("automatic reload failed")
