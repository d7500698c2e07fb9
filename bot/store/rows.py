"""What both backends read and write the same way: a new answer's and a reload's column
values, rows into Answers and gap questions, the gap query's text, timestamps as stored, and
which articles a knowledge sync rewrites."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.core.answering.answers import Answer, Citation, Evidence, Turn
from bot.core.answering.followup import rewritten
from bot.core.answering.gaps import GapQuestion
from bot.core.articles.models import Article, KnowledgeBase
from bot.core.requests import AskedBy
from bot.store.base import ReloadRecord

# The `answers` columns a new answer fills, in the order of `answer_values`.
ANSWER_COLUMNS = (
    "question, answer, abstained, reason, query_terms, context_terms, evidence, source, "
    "user_id, channel_id, guild_id, conversation_id, index_version, latency_ms, carried_terms, "
    "resolved"
)
ANSWER_COLUMN_COUNT = ANSWER_COLUMNS.count(",") + 1
# The `reloads` columns a reload fills, in the order of `reload_values`.
RELOAD_COLUMNS = (
    "actor, outcome, message, index_version, articles, passages, diff, problems, duration_ms, "
    "action"
)


class Row(Protocol):
    """A result row by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


def answer_values(answer: Answer, asked_by: AskedBy) -> tuple[Any, ...]:
    """A new answer as the values of ANSWER_COLUMNS."""
    return (
        answer.question,
        answer.answer,
        int(answer.abstained),
        answer.reason,
        json.dumps(answer.query_terms),
        json.dumps(answer.context_terms),
        json.dumps([e.model_dump() for e in answer.evidence]),
        asked_by.source,
        asked_by.user_id,
        asked_by.channel_id,
        asked_by.guild_id,
        asked_by.conversation_id,
        answer.index_version,
        answer.latency_ms,
        json.dumps(answer.carried_terms),
        answer.resolved,
    )


def reload_values(record: ReloadRecord) -> tuple[Any, ...]:
    """A reload as the values of RELOAD_COLUMNS."""
    return (
        record.actor,
        record.outcome,
        record.message,
        record.index_version,
        record.articles,
        record.passages,
        record.diff.model_dump_json() if record.diff else "{}",
        json.dumps(record.problems),
        record.duration_ms,
        record.action,
    )


def answer_from_row(row: Row, citations: Sequence[Citation]) -> Answer:
    """An `answers` row (every column) with its citations."""
    return Answer(
        question=row["question"],
        answer=row["answer"],
        abstained=bool(row["abstained"]),
        reason=row["reason"],
        citations=list(citations),
        evidence=[Evidence(**e) for e in json.loads(row["evidence"])],
        query_terms=json.loads(row["query_terms"]),
        context_terms=json.loads(row["context_terms"]),
        carried_terms=json.loads(row["carried_terms"]),
        resolved=row["resolved"],
        index_version=row["index_version"],
        answer_id=row["id"],
        latency_ms=row["latency_ms"],
    )


def turn_from_row(row: Row) -> Turn:
    """A conversation's previous turn from its `answers` row (question, answer,
    context_terms, resolved): a rewritten follow-up hands on its reading."""
    return Turn(
        question=rewritten(row["resolved"]) or row["question"],
        answer=row["answer"],
        context_terms=json.loads(row["context_terms"]),
    )


def gap_questions_sql(since: str, limit: str) -> str:
    """Answers abstained on or rated 👎 asked at or after `since`, newest first (the two
    arguments: the dialect's placeholders)."""
    return f"""SELECT a.id, a.question, a.query_terms, a.evidence, a.abstained, a.created_at,
                      (SELECT count(*) FROM feedback f
                       WHERE f.answer_id = a.id AND f.value = -1) AS downvotes
               FROM answers a
               WHERE a.created_at >= {since}
                 AND (a.abstained = 1 OR EXISTS (SELECT 1 FROM feedback f
                                                 WHERE f.answer_id = a.id AND f.value = -1))
               ORDER BY a.id DESC LIMIT {limit}"""


def gap_question(row: Row, reasons: list[str]) -> GapQuestion:
    """A row of gap_questions_sql with its 👎 reasons."""
    return GapQuestion(
        answer_id=row["id"],
        question=row["question"],
        terms=json.loads(row["query_terms"]),
        asked_at=parse_timestamp(row["created_at"]),
        abstained=bool(row["abstained"]),
        downvotes=row["downvotes"],
        reasons=reasons,
        closest=[Evidence(**e) for e in json.loads(row["evidence"])][:3],
    )


def changed_articles(stored: dict[str, str], kb: KnowledgeBase) -> tuple[list[str], list[Article]]:
    """Article ids to delete (gone or changed) and articles to insert (new or changed)."""
    new = {a.id: a for a in kb.articles}
    stale = [aid for aid, h in stored.items() if aid not in new or new[aid].content_hash != h]
    fresh = [a for a in kb.articles if stored.get(a.id) != a.content_hash]
    return stale, fresh


def timestamp_text(moment: datetime) -> str:
    """The text form of `created_at` columns (UTC, ISO 8601, milliseconds, `Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_due(last_run: str | None, every: timedelta, now: datetime) -> datetime | None:
    """A periodic job's previous run if its period has passed by `now` (None: not due, or
    never run — the first sight only starts the clock)."""
    if last_run is None:
        return None
    last = datetime.fromisoformat(last_run)
    return last if now - last >= every else None
