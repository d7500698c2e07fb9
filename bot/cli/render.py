"""Plain-text and JSON renderings of answers, search hits and reports for the terminal."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from bot.core.answering.answers import Answer
from bot.results import CitedPassage, KbStatus, ReloadReport, SearchReport
from bot.service import GapGroup, Version


def answer_json(answer: Answer) -> dict[str, Any]:
    """The DESIGN §4 answer object (plus a few extra fields)."""
    data = answer.model_dump(
        include={
            "question",
            "answer",
            "abstained",
            "answer_id",
            "reason",
            "index_version",
            "latency_ms",
            "context_terms",
            "carried_terms",
        }
    )
    if answer.corrections:
        data["corrections"] = [{"from": c.typed, "to": c.searched} for c in answer.corrections]
    if answer.resolved:
        data["resolved"] = answer.resolved
    data["citations"] = [
        c.model_dump(include={"n", "title", "url", "passage_id", "quote", "start", "end", "score"})
        for c in answer.citations
    ]
    data["closest"] = (
        [
            e.model_dump(include={"passage_id", "title", "url", "score", "snippet"})
            for e in answer.evidence[:3]
        ]
        if answer.abstained
        else []
    )
    return data


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def understood(answer: Answer) -> str:
    """One line saying how the question was read: spelling corrections, a follow-up's sense."""
    parts = [f"searched for “{c.searched}” instead of “{c.typed}”" for c in answer.corrections]
    if answer.resolved:
        parts.append(f"read as “{answer.resolved}”")
    line = "; ".join(parts)
    return line[:1].upper() + line[1:]  # not str.capitalize(): it lower-cases the names


def answer_text(answer: Answer, width: int = 100) -> str:
    lines = []
    if note := understood(answer):
        lines += [textwrap.fill(f"({note})", width), ""]
    lines.append(textwrap.fill(answer.answer, width))
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            where = f" <{c.url}>" if c.url else ""
            lines.append(f"[{c.n}] {c.title}{where}")
            lines.append(
                textwrap.fill(
                    f"“{' '.join(c.quote.split())}”",
                    width,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
            )
            lines.append(
                f"    passage {c.passage_id}, characters {c.start}–{c.end}, score {c.score:.2f}"
            )
    elif answer.abstained and answer.evidence:
        lines.append("")
        lines.append("Closest passages:")
        for e in answer.evidence[:3]:
            lines.append(f"  - {e.title} (passage {e.passage_id}, score {e.score:.2f})")
            lines.append(
                textwrap.fill(e.snippet, width, initial_indent="    ", subsequent_indent="    ")
            )
    lines.append("")
    lines.append(f"answer #{answer.answer_id} · index {answer.index_version}")
    return "\n".join(lines)


def ask_error_json(question: str, error: Exception) -> dict[str, Any]:
    """The error row a streamed question gets instead of an answer (the stream goes on)."""
    return {
        "question": question[:200],
        "error": str(error),
        "abstained": True,
        "answer_id": None,
        "answer": "",
        "citations": [],
    }


def search_json(report: SearchReport) -> dict[str, Any]:
    """DESIGN §4's `{"query", "hits"}`, plus `reason` when there are fewer than --top-k."""
    return {
        "query": report.query,
        "hits": [
            h.model_dump(include={"passage_id", "title", "url", "score", "text"})
            for h in report.hits
        ],
        "reason": report.reason,
    }


def search_error_json(query: str, error: Exception) -> dict[str, Any]:
    return {"query": query[:200], "error": str(error), "hits": []}


def search_text(report: SearchReport, width: int = 100) -> str:
    lines = []
    for rank, h in enumerate(report.hits, start=1):
        lines.append(f"{rank:>2}. {h.score:7.3f}  {h.title}  (passage {h.passage_id})")
        flat = " ".join(h.text.split())
        lines.append(textwrap.shorten(flat, width, placeholder=" …").join(["    ", ""]))
    if report.reason:
        found = f"{len(report.hits)} of {report.top_k} passage(s)" if report.hits else "No passage"
        lines.append(f"{found} for “{report.query}”: {report.reason}.")
    return "\n".join(lines)


def source_json(cited: CitedPassage) -> dict[str, Any]:
    c = cited.citation
    data: dict[str, Any] = {"answer_id": cited.answer_id}
    data |= c.model_dump(
        include={"n", "title", "url", "passage_id", "quote", "start", "end", "score"}
    )
    return data | {"passage": cited.passage, "changed": cited.changed}


def source_text(cited: CitedPassage, width: int = 100) -> str:
    """The passage with the quote between » and «, or the quote alone if the passage is gone."""
    c = cited.citation
    where = f" <{c.url}>" if c.url else ""
    lines = [f"[{c.n}] {c.title}{where}"]
    if cited.passage is None:
        body = f"»{c.quote}«"
        note = "The article has changed or was removed since; this is the quote as it was cited."
    else:
        body, start = cited.passage, cited.quote_at
        if start is not None:
            end = start + len(c.quote)
            body = f"{body[:start]}»{body[start:end]}«{body[end:]}"
        note = "The article changed since this answer; this is the current passage." * cited.changed
    lines.append(textwrap.fill(" ".join(body.split()), width))
    if note:
        lines.append(note)
    lines.append(f"passage {c.passage_id} · score {c.score:.2f} · answer #{cited.answer_id}")
    return "\n".join(lines)


def status_json(status: KbStatus) -> dict[str, Any]:
    return status.model_dump(mode="json")


def status_text(status: KbStatus) -> str:
    last = status.last_reload_at or "never"
    outcome = f" ({status.last_reload_outcome})" if status.last_reload_outcome else ""
    lines = [
        f"Articles: {status.articles:,}   Passages: {status.passages:,}   "
        f"Index version: {status.index_version}",
        f"Answers served: {status.answers_served:,}   "
        f"Abstention rate: {status.abstention_rate:.0%}   "
        f"Feedback: 👍 {status.feedback_up} · 👎 {status.feedback_down}",
        f"Last reload: {last}{outcome}",
    ]
    if status.embedding:
        lines.append(f"Embeddings: {status.embedding}")
    if status.problems:
        lines.append(f"Problems ({len(status.problems)}):")
        lines += [f"  {p}" for p in status.problems]
    return "\n".join(lines)


def index_text(report: ReloadReport, folder: Path) -> str:
    """`index`'s report: counts, what changed since the last build, each refused file."""
    change = report.diff
    lines = [
        f"Knowledge base {folder}: {report.articles} article(s), "
        f"{report.passages} passage(s), index {report.index_version}.",
        f"Changes since last build: {change.summary()}.",
    ]
    if report.embedding:
        lines.append(f"Embeddings: {report.embedding}.")
    for label, ids in (
        ("added", change.articles_added),
        ("changed", change.articles_changed),
        ("removed", change.articles_removed),
    ):
        lines += [f"  {label}: {article_id}" for article_id in ids]
    if report.problems:
        lines.append(f"Refused {len(report.problems)} file(s):")
        lines += [f"  {problem}" for problem in report.problems]
    return "\n".join(lines)


def gaps_json(groups: list[GapGroup], since: str | None) -> dict[str, Any]:
    return {
        "since": since,
        "questions": sum(g.count for g in groups),
        "groups": [
            g.model_dump(mode="json", exclude={"closest"})
            | {
                "closest": [
                    e.model_dump(include={"passage_id", "title", "url", "score", "snippet"})
                    for e in g.closest
                ]
            }
            for g in groups
        ],
    }


def gaps_text(groups: list[GapGroup], window: str, width: int = 100) -> str:
    if not groups:
        return f"No questions abstained on or rated 👎 ({window})."
    total = sum(g.count for g in groups)
    lines = [f"{total} question(s) in {len(groups)} group(s) ({window}), most frequent first:"]
    for rank, g in enumerate(groups, 1):
        kinds = ", ".join(
            part
            for part in (
                f"{g.abstained} abstained" if g.abstained else "",
                f"{g.downvotes} 👎" if g.downvotes else "",
            )
            if part
        )
        when = g.last_asked.strftime("%Y-%m-%d %H:%M UTC")
        lines.append("")
        lines.append(f"{rank:>2}. asked {g.count}× ({kinds}), last {when}")
        lines += [f"    - {textwrap.shorten(q, width - 6)}" for q in g.examples]
        lines += [f"    why 👎: {textwrap.shorten(r, width - 12)}" for r in g.reasons]
        for e in g.closest:
            lines.append(f"    closest: {e.title} (passage {e.passage_id}, score {e.score:.2f})")
        if not g.closest:
            lines.append("    closest: no passage matched")
    return "\n".join(lines)


def versions_json(versions: list[Version], current: str) -> dict[str, Any]:
    return {
        "current": current,
        "versions": [
            v.model_dump(mode="json", exclude={"files"}) | {"files": len(v.files)} for v in versions
        ],
    }


def versions_text(versions: list[Version], current: str) -> str:
    if not versions:
        return "No version recorded yet: each successful reload records one."
    lines = []
    for v in versions:
        mark = "  <- folder now" if v.id == current else ""
        by = f" by {v.actor}" if v.actor else ""
        when = v.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"{v.id}  {when}  {v.action}{by}  {len(v.files)} file(s){mark}")
        lines.append(f"    {v.summary}")
    return "\n".join(lines)
