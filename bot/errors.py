"""Errors whose message is safe to show a user as is (one short line, no internals)."""


class BotError(Exception):
    """Base of our errors: the message is shown to the user; the exit code is for the CLI."""

    exit_code = 1


class QuestionError(BotError):
    """The question cannot be asked as typed (empty, too long)."""


class KnowledgeError(BotError):
    """The knowledge base cannot be loaded or is empty; a running index keeps serving."""

    exit_code = 3


class StoreError(BotError):
    """The database cannot be opened or written (corrupt, locked, newer schema)."""

    exit_code = 4


class NotFoundError(BotError):
    """A referenced answer, citation or passage does not exist."""


class ConfigError(BotError):
    """A required setting is missing or invalid."""

    exit_code = 2


class ArticleError(BotError):
    """An article file was refused (name, size, content) or cannot be changed; nothing was."""
