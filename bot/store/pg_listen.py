"""Hearing the knowledge versions other processes publish: LISTEN on a connection of its own
(not the pool's), re-established after the server comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from bot.store.pg_errors import GONE

CHANNEL = "bot_knowledge_version"


class VersionListener:
    """Calls `wake` on each published version, and once on every (re)connection."""

    def __init__(self, dsn: str, wake: Callable[[], None], connect_timeout: float) -> None:
        self._dsn = dsn
        self._timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None
        self._task = asyncio.create_task(self._listen(wake), name="pg-listen")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            self._conn.terminate()

    async def _listen(self, wake: Callable[[], None]) -> None:
        delay = 0.5
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=self._timeout)
            except (*GONE, asyncpg.PostgresError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.5
            self._conn = conn
            try:
                await self._listen_on(conn, wake)
            except (*GONE, asyncpg.PostgresError):
                pass
            finally:
                if not conn.is_closed():
                    conn.terminate()

    async def _listen_on(self, conn: asyncpg.Connection, wake: Callable[[], None]) -> None:
        """Until the connection is lost (the server going away is noticed within 5 s)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, lambda *_args: wake())
        wake()  # anything published while we were not listening
        while not lost.is_set() and not conn.is_closed():
            try:  # asyncio.timeout, not wait_for: no extra task per wait
                async with asyncio.timeout(5.0):
                    await lost.wait()
            except TimeoutError:  # a dead socket is only noticed on use
                await conn.execute("SELECT 1", timeout=self._timeout)
