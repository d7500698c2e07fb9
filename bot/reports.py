"""The service's reports made from engine results: a load's report, why a search found fewer
passages than asked, where a stored quote now sits in its passage."""

from __future__ import annotations

import time

from bot.core.articles.diff import KnowledgeDiff
from bot.core.engine import Engine
from bot.core.text.analysis import analyze
from bot.results import ReloadReport


def fewer_hits(query: str, found: int, passages: int, by_meaning: int = 0) -> str:
    """Why a search found fewer passages than asked for (search lists matches, and with the
    embedding model's vectors the `by_meaning` passages nearest the query)."""
    if not analyze(query, names=False):
        return "the query has no searchable words (only common words like “the” or “what”)"
    if found == 0:
        return "no passage contains a word of the query"
    if found >= passages:
        return f"the knowledge base has only {passages:,} passage(s)"
    if by_meaning:
        return (
            f"only {found:,} passage(s) contain a word of the query or are among the "
            f"{by_meaning:,} nearest to it in meaning"
        )
    return f"only {found:,} passage(s) contain a word of the query"


def quote_at(passage: str, quote: str, offset: int) -> int | None:
    """Where a quote starts in a passage: at its recorded offset if it still matches there
    (the passage may have moved in its file), else wherever it now is."""
    if not quote:
        return None
    if offset >= 0 and passage[offset : offset + len(quote)] == quote:
        return offset
    found = passage.find(quote)
    return found if found >= 0 else None


def loaded_report(
    verb: str,
    engine: Engine,
    change: KnowledgeDiff,
    started: float,
    *,
    actor: str | None,
    action: str,
) -> ReloadReport:
    """The report of a knowledge base loaded and indexed (by `index` or a reload)."""
    kb = engine.kb
    return ReloadReport(
        ok=True,
        message=f"{verb}: {len(kb.articles)} article(s), {len(kb.passages)} passage(s); "
        f"{change.summary()}.",
        index_version=engine.version,
        articles=len(kb.articles),
        passages=len(kb.passages),
        diff=change,
        problems=[str(p) for p in kb.problems],
        duration_ms=(time.perf_counter() - started) * 1000,
        actor=actor,
        action=action,
    )
