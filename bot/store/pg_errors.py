"""PostgreSQL failures as the store reads them: which mean the server is gone, which left a
write unsent (safe to retry), and how each reads in one line with the password masked."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from bot.errors import ConfigError, StoreError
from bot.store.migrations import SchemaTooNew
from bot.store.target import DbTarget, redact_url

# A connection that died while the server was down can fail on next use with
# InternalClientError ("cannot switch to state 15", asyncpg#784), not only with the
# usual connection errors.
GONE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


class _OneLine(logging.Filter):
    """asyncpg's pool logs a traceback at WARNING each time it cannot restore its floor of
    connections while the server is down: keep the line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


logging.getLogger("asyncpg.pool").addFilter(_OneLine())


def never_sent(exc: BaseException) -> bool:
    """Errors raised before a statement left this process (safe to retry a write): no
    connection could be made, the pool knew it closed, or asyncpg#784's state error."""
    if isinstance(exc, OSError | asyncpg.InternalClientError):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and "is closed" in str(exc)


@contextlib.asynccontextmanager
async def readable_login_errors(target: DbTarget) -> AsyncIterator[None]:
    """Start-up failures as one line naming the database, its password masked."""
    where = target.describe()
    try:
        yield
    except SchemaTooNew as exc:
        raise StoreError(f"database {where}: {exc}; upgrade the bot") from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise ConfigError(
            f"PostgreSQL refused the login for {where} (check the user and password in BOT_DB_URL)"
        ) from None
    except asyncpg.InvalidCatalogNameError:
        raise ConfigError(f"PostgreSQL database in {where} does not exist") from None
    except (asyncpg.ClientConfigurationError, ValueError) as exc:
        why = reason(exc, target.password)
        raise ConfigError(f"invalid PostgreSQL URL {where}: {why}") from None
    except (*GONE, asyncpg.PostgresError) as exc:
        why = reason(exc, target.password)
        raise ConfigError(f"cannot use PostgreSQL at {where}: {why}") from None


def reason(exc: BaseException, password: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = redact_url(text)
    return text.replace(password, "***") if password else text
