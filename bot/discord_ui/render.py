"""Answers, passages and reports as Discord embeds, always within Discord's size limits.

Pure functions: they build `discord.Embed` data objects and never touch the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import discord

from bot.core.answering.answers import Answer, Citation, Evidence
from bot.results import CitedPassage, KbStatus, ReloadReport

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
CONTENT_LIMIT = 2_000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4_096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1_024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2_048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6_000

QUOTE_PREVIEW = 300  # characters of a quote shown under each citation
ELLIPSIS = "…"

ANSWER_COLOUR = discord.Colour.green()
ABSTAIN_COLOUR = discord.Colour.gold()
INFO_COLOUR = discord.Colour.blurple()
ERROR_COLOUR = discord.Colour.red()

_MENTION = re.compile(r"@(everyone|here|[!&]?\d+)")
_SPACE = re.compile(r"\s+")


def trim(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with "…" when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    # Prefer a word boundary when one is close, and never leave a dangling escape backslash.
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip("\\ ") + ELLIPSIS


def neutralise_mentions(text: str) -> str:
    """Break @everyone, @here and <@id>/<@&id> so they cannot ping even if mentions were on."""
    return _MENTION.sub("@\u200b\\1", text)


def safe(text: str) -> str:
    """User or article text made inert: markdown escaped, mentions broken."""
    return neutralise_mentions(discord.utils.escape_markdown(text))


def one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def content(text: str) -> str:
    """Message content within the 2,000-character limit, mentions broken."""
    return trim(neutralise_mentions(text), CONTENT_LIMIT)


def _is_web(url: str | None) -> bool:
    return bool(url and url.startswith(("https://", "http://")) and not re.search(r"[\s<>]", url))


def _link(title: str, url: str | None) -> str:
    label = safe(one_line(title)).replace("[", "(").replace("]", ")")
    if url and _is_web(url):
        return f"[{label}](<{url}>)"
    return f"**{label}**"


def fit(embed: discord.Embed) -> discord.Embed:
    """Enforce every embed limit: per-part lengths, 25 fields, 6,000 characters in total."""
    if embed.title:
        embed.title = trim(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = trim(embed.description, DESCRIPTION_LIMIT)
    if embed.footer.text:
        embed.set_footer(text=trim(embed.footer.text, FOOTER_LIMIT))
    if embed.author.name:
        embed.set_author(name=trim(embed.author.name, AUTHOR_LIMIT))
    fields = [
        (trim(f.name or "\u200b", FIELD_NAME_LIMIT), trim(f.value or "\u200b", FIELD_VALUE_LIMIT))
        for f in embed.fields
    ][:FIELD_COUNT_LIMIT]
    embed.clear_fields()
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    # Over the total: drop fields from the end (keeping at least one), then shorten the text.
    while len(embed) > EMBED_TOTAL_LIMIT and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 1)
    excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.fields:
        field = embed.fields[0]
        room = max(1, len(field.value or "") - excess)
        embed.set_field_at(0, name=field.name or "\u200b", value=trim(field.value or "", room))
        excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.description:
        embed.description = trim(embed.description, max(1, len(embed.description) - excess))
        excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.title:
        embed.title = trim(embed.title, max(1, len(embed.title) - excess))
    return embed


def _footer(answer: Answer) -> str:
    parts = [f"Index {answer.index_version}" if answer.index_version else "Index ?"]
    if answer.answer_id is not None:
        parts.append(f"Answer #{answer.answer_id}")
    parts.append("/source n shows a full passage")
    if answer.corrections:
        # Briefly: the footer has room for a few words, the "Why" view shows the rest.
        shown = ", ".join(f"{c.searched} (not {c.typed})" for c in answer.corrections[:3])
        parts.insert(0, f"Searched for {shown}")
    return " · ".join(parts)


def citation_field(citation: Citation) -> tuple[str, str]:
    """A citation as (field name, field value): number and linked title, then a short quote."""
    name = f"[{citation.n}] {one_line(citation.title)}"
    quote = trim(one_line(citation.quote), QUOTE_PREVIEW)
    value = f"> {safe(quote)}"
    if _is_web(citation.url):  # the field name already shows the title
        value = f"{_link(citation.title, citation.url)}\n{value}"
    return neutralise_mentions(name), value


def evidence_field(rank: int, evidence: Evidence, *, terms: bool = False) -> tuple[str, str]:
    name = f"{rank}. {one_line(evidence.title)} — score {evidence.score:.2f}"
    lines = [_link(evidence.title, evidence.url)]
    if terms:
        matched = ", ".join(f"`{t}`" for t in evidence.matched_terms) or "none"
        lines.append(f"Matched terms: {matched}")
        if evidence.similarity is not None:
            lines.append(f"Similarity in meaning: {evidence.similarity:.2f}")
    lines.append(f"> {safe(trim(one_line(evidence.snippet), QUOTE_PREVIEW))}")
    return neutralise_mentions(name), "\n".join(lines)


def _add_fields(embed: discord.Embed, fields: Iterable[tuple[str, str]]) -> None:
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer with its [n] markers and one field per numbered citation."""
    if answer.abstained:
        return abstention_embed(answer)
    embed = discord.Embed(
        title=safe(one_line(answer.question)),
        description=safe(answer.answer),
        colour=ANSWER_COLOUR,
    )
    _add_fields(embed, (citation_field(c) for c in answer.citations))
    embed.set_footer(text=_footer(answer))
    return fit(embed)


def abstention_embed(answer: Answer) -> discord.Embed:
    """Not in the knowledge base: say why and offer the closest passages."""
    embed = discord.Embed(
        title=safe(one_line(answer.question)),
        description=safe(answer.answer),
        colour=ABSTAIN_COLOUR,
    )
    closest = answer.evidence[:3]
    if closest:
        embed.add_field(
            name="Closest passages",
            value="These came nearest, but do not answer the question:",
            inline=False,
        )
        _add_fields(embed, (evidence_field(i, e) for i, e in enumerate(closest, 1)))
    embed.set_footer(text=_footer(answer))
    return fit(embed)


def why_embed(answer: Answer) -> discord.Embed:
    """Why this answer: the top passages with their scores and matched terms."""
    terms = ", ".join(f"`{t}`" for t in answer.query_terms) or "none"
    lines = [f"Search terms from the question: {terms}"]
    for c in answer.corrections:
        lines.append(f"Searched for *{safe(c.searched)}* instead of *{safe(c.typed)}*.")
    if answer.resolved:
        lines.append(f"Read as a follow-up: “{safe(answer.resolved)}”.")
    if answer.carried_terms:  # only a follow-up borrows terms from the previous turn
        lines.append(
            "Terms carried over from the conversation: "
            + ", ".join(f"`{t}`" for t in answer.carried_terms)
        )
    if answer.abstained and answer.reason:
        lines.append(f"Abstained because {safe(answer.reason)}.")
    if not answer.evidence:
        lines.append("No passage matched.")
    embed = discord.Embed(
        title=f"Why this answer? (#{answer.answer_id})",
        description="\n".join(lines),
        colour=INFO_COLOUR,
    )
    _add_fields(embed, (evidence_field(i, e, terms=True) for i, e in enumerate(answer.evidence, 1)))
    embed.set_footer(text=f"Index {answer.index_version} · BM25 scores, higher is closer")
    return fit(embed)


def highlight(passage: str, quote: str, start: int | None) -> str:
    """The passage, markdown-escaped, with the quote (found at `start`) in bold."""
    if start is None or not quote:
        return safe(passage)
    end = start + len(quote)
    return f"{safe(passage[:start])}**{safe(quote)}**{safe(passage[end:])}"


def highlight_window(passage: str, quote: str, start: int | None, limit: int) -> str:
    """Like `highlight`, but a passage longer than `limit` is cut around the quote with "…"."""
    if len(passage) <= limit:
        return highlight(passage, quote, start)
    if start is None:
        return safe(trim(passage, limit))
    end = start + len(quote)
    room = max(0, limit - (end - start))
    left = max(0, start - room // 2)
    right = min(len(passage), max(end, left + limit))
    left = max(0, min(left, right - limit))
    body = highlight(passage[left:right], quote, start - left)
    return (ELLIPSIS if left > 0 else "") + body + (ELLIPSIS if right < len(passage) else "")


def source_embed(cited: CitedPassage) -> discord.Embed:
    """The full passage behind a citation with the quoted words in bold."""
    citation = cited.citation
    if cited.passage is None:
        body = f"**{safe(trim(citation.quote, 1_800))}**"
        note = "The article has changed or was removed since; this is the quote as it was cited."
    else:
        # Escaping can double the length, so the raw window stays well under 4,096.
        body = highlight_window(cited.passage, citation.quote, cited.quote_at, 1_800)
        note = "The article changed since this answer; this is the current passage." * cited.changed
    suffix = f"\n\n*{note}*" if note else ""
    url = citation.url if _is_web(citation.url) else None
    embed = discord.Embed(
        title=trim(f"[{citation.n}] {one_line(citation.title)}", TITLE_LIMIT),
        description=trim(body, DESCRIPTION_LIMIT - len(suffix)) + suffix,
        colour=INFO_COLOUR,
        url=url,
    )
    embed.set_footer(text=f"Passage {citation.passage_id} · score {citation.score:.2f}")
    return fit(embed)


def reload_embed(report: ReloadReport, heading: str | None = None) -> discord.Embed:
    """A reload report: what changed, per-file problems, or why it was refused."""
    embed = discord.Embed(
        title=heading or ("Knowledge base reloaded" if report.ok else "Reload refused"),
        description=safe(report.message),
        colour=ANSWER_COLOUR if report.ok else ERROR_COLOUR,
    )
    d = report.diff
    if report.ok:
        for label, items in (
            ("Articles added", d.articles_added),
            ("Articles changed", d.articles_changed),
            ("Articles removed", d.articles_removed),
        ):
            if items:
                embed.add_field(
                    name=f"{label} ({len(items)})",
                    value=safe("\n".join(items)),
                    inline=False,
                )
        embed.add_field(
            name="Passages",
            value=f"+{d.passages_added} / -{d.passages_removed} · {report.passages} in total, "
            f"{report.articles} article(s)",
            inline=False,
        )
    else:
        embed.add_field(
            name="Still serving",
            value=f"Index {report.index_version}: {report.articles} article(s), "
            f"{report.passages} passage(s). Nothing was changed.",
            inline=False,
        )
    if report.problems:
        embed.add_field(
            name=f"Problems ({len(report.problems)} file(s) skipped)",
            value=safe("\n".join(f"• {p}" for p in report.problems)),
            inline=False,
        )
    version = f" · version {report.version}" if report.ok and report.version else ""
    embed.set_footer(text=f"Index {report.index_version}{version} · {report.duration_ms:.0f} ms")
    return fit(embed)


def status_embed(status: KbStatus, shards: str | None = None) -> discord.Embed:
    """The /kb status card; with several processes, this one's shards, version and database."""
    embed = discord.Embed(title="Knowledge base", colour=INFO_COLOUR)
    embed.add_field(name="Articles", value=str(status.articles))
    embed.add_field(name="Passages", value=str(status.passages))
    embed.add_field(name="Index version", value=f"`{status.index_version}`")
    embed.add_field(name="Answers served", value=f"{status.answers_served:,}")
    embed.add_field(name="Abstention rate", value=f"{status.abstention_rate:.0%}")
    embed.add_field(name="Feedback", value=f"👍 {status.feedback_up} · 👎 {status.feedback_down}")
    loaded = discord.utils.format_dt(status.loaded_at, "R")
    last = status.last_reload_at or "never"
    outcome = f" ({status.last_reload_outcome})" if status.last_reload_outcome else ""
    embed.add_field(name="Loaded", value=loaded)
    embed.add_field(name="Last reload", value=f"{last}{outcome}")
    if status.embedding:
        embed.add_field(name="Embeddings", value=safe(trim(status.embedding, 1000)), inline=False)
    process_fields(embed, status, shards)
    if status.problems:
        embed.add_field(
            name=f"Problems ({len(status.problems)})",
            value=safe("\n".join(f"• {p}" for p in status.problems)),
            inline=False,
        )
    return fit(embed)


def process_fields(embed: discord.Embed, status: KbStatus, shards: str | None) -> None:
    """This process beside the database totals: shards, process, published version, store."""
    if shards is not None:
        embed.add_field(name="Shards (this process)", value=safe(shards))
    if status.process:
        embed.add_field(name="Process", value=safe(status.process))
    if status.published_version and status.published_version != status.index_version:
        embed.add_field(name="Published version", value=f"`{status.published_version}`")
    if status.store:
        embed.add_field(name="Database", value=safe(status.store))  # password masked
    if status.version_problem:
        embed.add_field(
            name="Version sync problem", value=safe(status.version_problem), inline=False
        )
