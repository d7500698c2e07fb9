"""Where the store lives: a SQLite file or a PostgreSQL URL, with the password kept out of text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from bot.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


class DbTarget(BaseModel):
    """One database: `path` for SQLite, `url` (secret: it may hold a password) for PostgreSQL."""

    backend: Literal["sqlite", "postgresql"]
    path: Path | None = None
    url: SecretStr | None = None

    @classmethod
    def parse(cls, value: str | Path) -> DbTarget:
        """A plain path or `sqlite:///path` is SQLite; `postgresql://…` is PostgreSQL."""
        if isinstance(value, Path):
            return cls(backend="sqlite", path=value)
        text = value.strip()
        if text.lower().startswith(POSTGRES_SCHEMES):
            try:
                parts = urlsplit(text)
                parts.port  # noqa: B018  # raises ValueError on a non-numeric port
            except ValueError:
                raise ConfigError(f"invalid database URL {redact_url(text)}") from None
            return cls(backend="postgresql", url=SecretStr(text))
        if text.lower().startswith(SQLITE_SCHEME):
            return cls(backend="sqlite", path=Path(unquote(text[len(SQLITE_SCHEME) :])))
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise ConfigError(
                f"unsupported database URL scheme {scheme!r} (use a file path, sqlite:///PATH "
                "or postgresql://…)"
            )
        return cls(backend="sqlite", path=Path(text))

    @property
    def dsn(self) -> str:
        assert self.url is not None
        return self.url.get_secret_value()

    @property
    def password(self) -> str | None:
        """The password in the URL (for log redaction), if any."""
        if self.url is None:
            return None
        try:
            return urlsplit(self.dsn).password
        except ValueError:
            return None

    def describe(self) -> str:
        """Safe to log or show: the SQLite path, or the URL with its password masked."""
        if self.backend == "sqlite":
            return f"sqlite:{self.path}"
        return redact_url(self.dsn)


_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)", re.I)
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&\s]*)", re.I)


def redact_url(text: str) -> str:
    """Mask passwords in URLs found in `text` (`user:***@host`, `?password=***`)."""
    text = _PASSWORD_IN_URL.sub(lambda m: m["head"] + "***", text)
    return _PASSWORD_PARAM.sub(lambda m: m["head"] + "***", text)
