"""`eval`: score the bot on SQuAD-style rows (question, gold answers, optional article)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from bot.core.answering.answers import Answer
from bot.errors import BotError
from bot.evaluation.metrics import contains_answer, percentile, same_article, strip_markers
from bot.service import QAService

__all__ = ["EvalReport", "EvalRow", "contains_answer", "evaluate", "read_rows"]


class EvalRow(BaseModel):
    question: str
    answers: list[str] = []
    title: str | None = None
    article: str | None = None


class EvalReport(BaseModel):
    """Rates are shares of all questions (an abstention counts as a miss)."""

    questions: int
    answer_hit_rate: float
    citation_hit_rate: float  # gold answer in the first citation's quote, from the right article
    right_article_rate: float | None  # first citation from the row's article (rows naming one)
    abstention_rate: float
    mean_answer_chars: float
    latency_p50_ms: float
    latency_p95_ms: float
    answered_right_article_rate: float | None = None  # among answered rows naming an article


def _same_article(row: EvalRow, answer: Answer) -> bool | None:
    """The first citation is from the row's article; None when the row names none."""
    wanted = row.title or row.article
    if not wanted:
        return None
    if not answer.citations:
        return False
    first = answer.citations[0]
    return same_article(wanted, first.title, first.article_id)


def read_rows(path: Path) -> list[EvalRow]:
    rows: list[EvalRow] = []
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
            rows.append(EvalRow.model_validate_json(line))
        except ValidationError:
            raise BotError(f"{path}:{number}: not a JSON object with a `question`") from None
    if not rows:
        raise BotError(f"{path} has no questions")
    return rows


async def evaluate(service: QAService, rows: list[EvalRow], progress: bool = True) -> EvalReport:
    """Ask every row through the service (stored like any answer) and score the answers."""
    hits = cite_hits = abstained = 0
    article_checks: list[bool] = []
    lengths: list[int] = []
    latencies: list[float] = []
    for row in tqdm(rows, disable=not progress, unit="q", desc="eval", leave=False):
        answer = await service.ask(row.question)
        latencies.append(answer.latency_ms or 0.0)
        if answer.abstained:
            abstained += 1
            continue
        text = strip_markers(answer.answer)
        lengths.append(len(text))
        hits += contains_answer(text, row.answers)
        same = _same_article(row, answer)
        if same is not None:
            article_checks.append(same)
        cite_hits += (
            bool(answer.citations)
            and contains_answer(answer.citations[0].quote, row.answers)
            and same is not False
        )
    n = len(rows)
    with_article = sum(1 for r in rows if r.title or r.article)
    return EvalReport(
        questions=n,
        answer_hit_rate=hits / n,
        citation_hit_rate=cite_hits / n,
        right_article_rate=sum(article_checks) / with_article if with_article else None,
        abstention_rate=abstained / n,
        mean_answer_chars=statistics.fmean(lengths) if lengths else 0.0,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        answered_right_article_rate=(
            sum(article_checks) / len(article_checks) if article_checks else None
        ),
    )


def report_text(report: EvalReport) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f} %"

    return "\n".join(
        [
            f"questions            {report.questions}",
            f"answer hit rate      {pct(report.answer_hit_rate)}",
            f"first-citation hit   {pct(report.citation_hit_rate)} (gold in quote, right article)",
            f"right article        {pct(report.right_article_rate)}"
            f" ({pct(report.answered_right_article_rate)} of answered)",
            f"abstention rate      {pct(report.abstention_rate)}",
            f"mean answer length   {report.mean_answer_chars:.0f} chars",
            f"latency p50 / p95    {report.latency_p50_ms:.1f} / {report.latency_p95_ms:.1f} ms",
        ]
    )


def report_json(report: EvalReport) -> str:
    return json.dumps(report.model_dump())
