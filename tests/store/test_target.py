"""Which database a setting or `--db` names, and the password kept out of every text."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.redact import RedactSecrets
from bot.settings import Settings
from bot.store.target import DbTarget, redact_url

URL = "postgresql://kb:p%40ss-w0rd@db.example:5432/kb"


def test_paths_and_sqlite_urls_are_sqlite_postgres_urls_are_postgres() -> None:
    """A plain path or sqlite:///PATH keeps SQLite; postgresql:// and postgres:// select it."""
    assert DbTarget.parse("data/x.sqlite3").path == Path("data/x.sqlite3")
    assert DbTarget.parse("sqlite:////var/db/x.sqlite3").path == Path("/var/db/x.sqlite3")
    assert DbTarget.parse("sqlite:///rel/x.db").path == Path("rel/x.db")
    for url in (URL, "postgres://kb@localhost/kb"):
        assert DbTarget.parse(url).backend == "postgresql"
    with pytest.raises(ConfigError, match="unsupported"):
        DbTarget.parse("mysql://kb:pw@host/kb")
    with pytest.raises(ConfigError) as caught:
        DbTarget.parse("postgresql://kb:hunter2@host:port/kb")
    assert "hunter2" not in str(caught.value)


def test_url_wins_over_path_and_is_secret_in_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOT_DB_URL selects the store over BOT_DB_PATH and never shows in repr or dumps."""
    monkeypatch.setenv("BOT_DB_PATH", "data/other.sqlite3")
    monkeypatch.setenv("BOT_DB_URL", URL)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database.backend == "postgresql"
    assert settings.database.describe() == "postgresql://kb:***@db.example:5432/kb"
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "p%40ss" not in text
    monkeypatch.delenv("BOT_DB_URL")
    assert Settings(_env_file=None).database.path == Path("data/other.sqlite3")  # type: ignore[call-arg]


def test_shard_range_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOT_SHARD_IDS=0,1 with BOT_SHARD_COUNT=4; ids out of range or without a count refused."""
    monkeypatch.setenv("BOT_SHARD_IDS", "0,1")
    monkeypatch.setenv("BOT_SHARD_COUNT", "4")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.shard_ids, settings.shard_count) == ([0, 1], 4)
    monkeypatch.setenv("BOT_SHARD_IDS", "3,4")
    with pytest.raises(ValueError, match=r"within 0\.\.3"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("BOT_SHARD_COUNT")
    with pytest.raises(ValueError, match="needs shard_count"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_redaction_masks_url_passwords_and_known_secrets() -> None:
    """Log records lose URL passwords and the configured secrets, tracebacks included."""
    assert redact_url(f"connect {URL} failed") == (
        "connect postgresql://kb:***@db.example:5432/kb failed"
    )
    assert redact_url("host=x password=abc?password=zz") == "host=x password=abc?password=***"
    redactor = RedactSecrets(["tok.en.secret", "p@ss-w0rd"])
    try:
        raise RuntimeError(f"could not reach {URL} with p@ss-w0rd")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "token %s failed", ("tok.en.secret",),
            (type(exc), exc, exc.__traceback__),
        )  # fmt: skip
    redactor.filter(record)
    text = logging.Formatter().format(record)
    assert "tok.en.secret" not in text and "p@ss-w0rd" not in text and "p%40ss" not in text
    assert "Traceback" in text  # still there, only masked


def test_asyncpg_pool_floor_warning_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """asyncpg's "cannot restore the pool floor" warning keeps its line, not a traceback."""
    import bot.store.postgres  # noqa: F401  # installs the filter on asyncpg's logger

    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError:
        logging.getLogger("asyncpg.pool").warning(
            "Failed to restore the pool connection floor; retrying", exc_info=True
        )
    (record,) = [r for r in caplog.records if r.name == "asyncpg.pool"]
    assert record.exc_info is None and "Connection refused" in record.getMessage()
    assert "\n" not in caplog.text.strip()
