"""Plain-text and JSON renderings of answers, search hits and reports for the terminal."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from bot.core.answering.answers import Answer
from bot.core.engine import SearchResult
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
    return "; ".join(parts).capitalize() if parts else ""


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


def hit_json(hit: SearchResult) -> dict[str, Any]:
    return {
        "passage_id": hit.passage.id,
        "title": hit.article.title,
        "url": hit.article.url,
        "score": hit.score,
        "text": hit.passage.text,
    }


def hits_text(query: str, hits: list[SearchResult], width: int = 100) -> str:
    if not hits:
        return f"No passage matches “{query}”."
    lines = []
    for rank, h in enumerate(hits, start=1):
        lines.append(f"{rank:>2}. {h.score:7.3f}  {h.article.title}  (passage {h.passage.id})")
        flat = " ".join(h.passage.text.split())
        lines.append(textwrap.shorten(flat, width, placeholder=" …").join(["    ", ""]))
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
