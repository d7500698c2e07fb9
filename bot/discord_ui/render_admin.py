"""The admin loop as embeds: pages of knowledge gaps, the list of versions. Pure functions."""

from __future__ import annotations

import discord

from bot.discord_ui.render import (
    ABSTAIN_COLOUR,
    INFO_COLOUR,
    QUOTE_PREVIEW,
    _link,
    fit,
    neutralise_mentions,
    one_line,
    safe,
    trim,
)
from bot.service import GapGroup, Version

GAPS_PER_PAGE = 5  # five groups of ~1,000 characters stay under the 6,000 of one embed
GAP_FIELD_LIMIT = 1_000
VERSIONS_SHOWN = 15


def page_count(groups: int) -> int:
    return max(1, -(-groups // GAPS_PER_PAGE))


def gap_field(rank: int, group: GapGroup) -> tuple[str, str]:
    """One group: how often, when last, example questions, 👎 reasons, closest passages."""
    kinds = []
    if group.abstained:
        kinds.append(f"{group.abstained} abstained")
    if group.downvotes:
        kinds.append(f"{group.downvotes} 👎")
    name = f"{rank}. asked {group.count}× ({', '.join(kinds)})"
    lines = [f"Last asked {discord.utils.format_dt(group.last_asked, 'R')}"]
    lines += [f"• {safe(trim(one_line(q), 200))}" for q in group.examples]
    lines += [f"👎 why: {safe(trim(one_line(r), 200))}" for r in group.reasons]
    if group.closest:
        closest = ", ".join(f"{_link(e.title, e.url)} ({e.score:.1f})" for e in group.closest)
        lines.append(f"Closest: {closest}")
        lines.append(f"> {safe(trim(one_line(group.closest[0].snippet), QUOTE_PREVIEW // 2))}")
    else:
        lines.append("Closest: no passage matched")
    return neutralise_mentions(name), trim("\n".join(lines), GAP_FIELD_LIMIT)


def gaps_embed(groups: list[GapGroup], page: int, window: str) -> discord.Embed:
    """One page of gaps (page numbers from 0, clamped to the pages there are)."""
    pages = page_count(len(groups))
    page = min(max(page, 0), pages - 1)
    shown = groups[page * GAPS_PER_PAGE : (page + 1) * GAPS_PER_PAGE]
    questions = sum(g.count for g in groups)
    if groups:
        description = (
            f"{questions} question(s) the bot could not answer or that got 👎, "
            f"in {len(groups)} group(s) of near-duplicates; most frequent first."
        )
    else:
        description = "No questions were abstained on or rated 👎 in this window."
    embed = discord.Embed(
        title=f"Knowledge gaps ({window})", description=description, colour=ABSTAIN_COLOUR
    )
    for rank, group in enumerate(shown, page * GAPS_PER_PAGE + 1):
        name, value = gap_field(rank, group)
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=f"Page {page + 1}/{pages} · add an article with /kb add")
    return fit(embed)


def versions_embed(versions: list[Version], current: str | None) -> discord.Embed:
    """The recorded versions, newest first, the one being served marked."""
    embed = discord.Embed(title="Knowledge base versions", colour=INFO_COLOUR)
    if not versions:
        embed.description = "No version recorded yet: one is recorded by each successful reload."
        return embed
    lines = []
    for version in versions[:VERSIONS_SHOWN]:
        when = discord.utils.format_dt(version.created_at, "f")
        by = f" by {actor_label(version.actor)}" if version.actor else ""
        mark = " ← serving" if version.id == current else ""
        lines.append(
            f"`{version.id}` {when} · {version.action}{by} · {len(version.files)} file(s)"
            f"{mark}\n  {safe(version.summary)}"
        )
    embed.description = "\n".join(lines)
    embed.set_footer(text="Restore one with /kb rollback version:")
    return fit(embed)


def actor_label(actor: str | None) -> str:
    """Who did it, as plain text: a user id is shown, never turned into a mention."""
    if not actor:
        return "unknown"
    kind, _, who = actor.partition(":")
    if kind == "discord" and who:
        return f"user {who}"
    return actor


def version_choice(version: Version) -> str:
    """An autocomplete label (Discord allows 100 characters)."""
    when = version.created_at.strftime("%b %d %H:%M")
    return trim(f"{version.id} · {when} · {version.action}: {version.summary}", 100)
