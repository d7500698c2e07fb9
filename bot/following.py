"""Following the knowledge version that a reload in any process published.

The store wakes the follower (PostgreSQL `LISTEN/NOTIFY`) or it polls (SQLite's version
row); either way it asks the service to adopt exactly the published version, and waits
before trying again a version this process could not build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from bot.errors import BotError

if TYPE_CHECKING:
    from bot.service import QAService

log = logging.getLogger(__name__)

VERSION_RETRY_S = 5.0  # a published version this process could not build is tried again


class VersionFollower:
    """One task per process that keeps its service on the published knowledge version."""

    def __init__(self, service: QAService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._retry_at: dict[str, float] = {}

    async def start(self) -> None:
        """Listen for published versions (idempotent)."""
        if self._task is None:
            await self._service.store.listen_versions(self._wake.set)
            self._task = asyncio.create_task(self._run(), name="follow-versions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        store = self._service.store
        while True:
            try:  # asyncio.timeout, not wait_for: no extra task per wait
                async with asyncio.timeout(store.poll_interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.check_once()
            except BotError:
                pass  # the store logs its own outage once
            except Exception:  # a bug must not stop following for the life of the process
                log.exception("following the published knowledge version failed")

    async def check_once(self) -> None:
        """Adopt the published version if this process serves another one."""
        service = self._service
        published = await service.store.published_version()
        if published is None or published.version == service.engine.version:
            if published is not None:
                service.version_problem = None
            return
        if time.monotonic() < self._retry_at.get(published.version, 0.0):
            return
        if not await service.adopt(published.version, published.origin):
            self._retry_at[published.version] = time.monotonic() + VERSION_RETRY_S
