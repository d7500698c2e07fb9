"""`eval` output: the figures of bot/evaluation as text or JSON (the CLI only renders)."""

from __future__ import annotations

import json
from dataclasses import asdict

from bot.evaluation.protocol import Figures


def report_text(report: Figures) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f} %"

    return "\n".join(
        [
            f"questions            {report.questions}",
            f"answer hit rate      {pct(report.answer_hit_rate)}",
            f"first-citation hit   {pct(report.citation_hit_rate)} (gold in quote, right article)",
            f"right article        {pct(report.answered_right_article_rate)} of answered"
            f" ({pct(report.right_article_rate)} of all naming one)",
            f"abstention rate      {pct(report.abstention_rate)}",
            f"mean answer length   {report.mean_answer_chars:.0f} chars",
            f"latency p50 / p95    {report.latency_p50_ms:.1f} / {report.latency_p95_ms:.1f} ms",
        ]
    )


def report_json(report: Figures) -> str:
    return json.dumps(asdict(report))
