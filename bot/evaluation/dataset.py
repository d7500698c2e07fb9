"""Evaluation rows from a JSONL file: `{"question", "answers": [...], "title"?, "article"?}`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from bot.errors import BotError
from bot.evaluation.protocol import Row


class EvalRow(BaseModel):
    """One line of an evaluation file (other keys are ignored)."""

    question: str
    answers: list[str] = []
    title: str | None = None  # the article's title, or
    article: str | None = None  # its file-name key (`Super_Bowl_50`)

    def row(self) -> Row:
        return Row(self.question, tuple(self.answers), self.title or self.article)


def read_rows(path: Path) -> list[Row]:
    """The rows of a JSONL file; BotError (a one-line message) if it cannot be used."""
    rows: list[Row] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BotError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BotError(f"{path} is not UTF-8 text") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(EvalRow.model_validate_json(line).row())
        except ValidationError:
            raise BotError(f"{path}:{number}: not a JSON object with a `question`") from None
    if not rows:
        raise BotError(f"{path} has no questions")
    return rows
