"""PostgreSQL connections for the store: the asyncpg pool, migration at connect, and running
a statement so that an outage gives one short error (and one log line), never a traceback.

While the server is down every call raises StoreError("storage unavailable, try again") and
the log gets one line (and one more when it is back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from bot.errors import StoreError
from bot.store.base import UNAVAILABLE
from bot.store.migrations import MIGRATIONS, POSTGRES, SCHEMA_VERSION, SchemaTooNew
from bot.store.pg_errors import GONE, never_sent, readable_login_errors, reason
from bot.store.target import DbTarget

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_MIGRATE, LOCK_SYNC = 0x6B62_0001, 0x6B62_0002  # advisory lock keys ("kb" 1, 2)
CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 30.0


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without the default reset query (a round trip per call): these
    connections never LISTEN, SET, hold cursors or session locks (only xact locks)."""


class PgPool:
    """An asyncpg pool whose calls fail in one short StoreError while the server is away."""

    def __init__(self, pool: asyncpg.Pool, target: DbTarget) -> None:
        self._pool = pool
        self.target = target
        self._down = False

    @staticmethod
    async def check_login(target: DbTarget) -> None:
        """Connect once and leave: the login fails here, in one line, before slow work."""
        async with readable_login_errors(target):
            conn = await asyncpg.connect(target.dsn, timeout=CONNECT_TIMEOUT_S)
            await conn.close()

    @classmethod
    async def connect(cls, target: DbTarget, *, pool_size: int = 10) -> PgPool:
        """Connect, check the login and migrate; one readable ConfigError if that fails."""
        async with readable_login_errors(target):
            # min_size=0: no background "floor" reconnects (a traceback each) while down;
            # connections are opened on demand and kept while in use.
            pool = await asyncpg.create_pool(
                target.dsn,
                min_size=0,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=COMMAND_TIMEOUT_S,
                max_inactive_connection_lifetime=60.0,
                reset=_keep_session,
            )
            try:
                async with pool.acquire(timeout=CONNECT_TIMEOUT_S) as conn:
                    await _migrate(conn)
            except BaseException:
                pool.terminate()
                raise
        return cls(pool, target)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5)
        except (TimeoutError, *GONE):
            self._pool.terminate()

    async def run(
        self,
        work: Callable[[asyncpg.Connection], Awaitable[T]],
        *,
        write: bool,
        what: str,
        transaction: bool = False,
    ) -> T:
        """Run `work` on a pooled connection (in a transaction when asked: several writes).

        A dead pooled connection is replaced and the call retried once, unless it was a
        write that may have reached the server: then the caller gets the short error and
        nothing is shown as stored that might not be.
        """
        last: BaseException | None = None
        for _attempt in range(2):
            try:
                async with self._pool.acquire(timeout=CONNECT_TIMEOUT_S) as conn:
                    if transaction:
                        async with conn.transaction():
                            result = await work(conn)
                    else:
                        result = await work(conn)
                self._back_up()
                return result
            except GONE as exc:
                last = exc
                # every idle connection predates the outage: replace them all, not one a call
                await self._pool.expire_connections()
                if write and not never_sent(exc):
                    break
            except asyncpg.PostgresError as exc:
                raise StoreError(
                    f"could not {what} ({reason(exc, self.target.password)})"
                ) from None
        assert last is not None
        self._went_down(last)
        raise StoreError(UNAVAILABLE)

    def _went_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "PostgreSQL unavailable (%s); requests get %r until it is back",
                reason(exc, self.target.password),
                UNAVAILABLE,
            )

    def _back_up(self) -> None:
        if self._down:
            self._down = False
            log.warning("PostgreSQL reachable again")


async def _migrate(conn: asyncpg.Connection) -> int:
    """Apply the missing steps under an advisory lock (one process migrates, others wait)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_MIGRATE)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(current)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            await conn.execute(MIGRATIONS[version - 1](POSTGRES))
        if current != SCHEMA_VERSION:
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version VALUES ($1)", SCHEMA_VERSION)
    return SCHEMA_VERSION
