"""`eval`: score the bot on SQuAD-style rows (question, gold answers, optional article)."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from bot.core.analysis import normalize
from bot.core.answers import Answer
from bot.errors import BotError
from bot.service import QAService

_MARKER = re.compile(r"\s*\[\d+\]")


class EvalRow(BaseModel):
    question: str
    answers: list[str] = []
    title: str | None = None
    article: str | None = None


class EvalReport(BaseModel):
    questions: int
    answer_hit_rate: float
    citation_hit_rate: float
    right_article_rate: float | None
    abstention_rate: float
    mean_answer_chars: float
    latency_p50_ms: float
    latency_p95_ms: float


def _fold(text: str) -> str:
    return " ".join(normalize(text).split())


def contains_answer(text: str, gold: Iterable[str]) -> bool:
    """A gold answer appears in `text`, ignoring case, accents and spacing."""
    folded = _fold(text)
    return any(g.strip() and _fold(g) in folded for g in gold)


def _same_article(row: EvalRow, answer: Answer) -> bool | None:
    wanted = row.title or row.article
    if not wanted or not answer.citations:
        return None if not wanted else False
    first = answer.citations[0]
    key = _fold(wanted.replace("_", " "))
    stem = _fold(Path(first.article_id).stem.replace("_", " "))
    return key in (_fold(first.title), stem)


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
        text = _MARKER.sub("", answer.answer)
        lengths.append(len(text))
        hits += contains_answer(text, row.answers)
        cite_hits += bool(answer.citations) and contains_answer(
            answer.citations[0].quote, row.answers
        )
        same = _same_article(row, answer)
        if same is not None:
            article_checks.append(same)
    n = len(rows)
    ordered = sorted(latencies)
    return EvalReport(
        questions=n,
        answer_hit_rate=hits / n,
        citation_hit_rate=cite_hits / n,
        right_article_rate=sum(article_checks) / n if article_checks else None,
        abstention_rate=abstained / n,
        mean_answer_chars=statistics.fmean(lengths) if lengths else 0.0,
        latency_p50_ms=ordered[len(ordered) // 2],
        latency_p95_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
    )


def report_text(report: EvalReport) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f} %"

    return "\n".join(
        [
            f"questions            {report.questions}",
            f"answer hit rate      {pct(report.answer_hit_rate)}",
            f"first-citation hit   {pct(report.citation_hit_rate)}",
            f"right article        {pct(report.right_article_rate)}",
            f"abstention rate      {pct(report.abstention_rate)}",
            f"mean answer length   {report.mean_answer_chars:.0f} chars",
            f"latency p50 / p95    {report.latency_p50_ms:.1f} / {report.latency_p95_ms:.1f} ms",
        ]
    )


def report_json(report: EvalReport) -> str:
    return json.dumps(report.model_dump())
