"""Keep secrets (the Discord token, the database password) out of every log line."""

from __future__ import annotations

import logging
import traceback
from urllib.parse import unquote

from bot.settings import Settings
from bot.store.target import redact_url


class RedactSecrets(logging.Filter):
    """Replace known secrets and URL passwords in each record's final message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # formatters print exc_text when set: the traceback, redacted too
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_text = self._clean(text)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True

    def _clean(self, text: str) -> str:
        text = redact_url(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def secrets_of(settings: Settings) -> list[str]:
    password = settings.database.password if settings.db_url is not None else None
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    found = [token]
    if password:
        found += [password, unquote(password)]
    return found


def redact_logs(settings: Settings) -> None:
    """Add the filter to every handler of the root logger (call after configuring logging)."""
    redactor = RedactSecrets(secrets_of(settings))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
