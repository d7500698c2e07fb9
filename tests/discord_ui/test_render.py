"""Embeds stay within every Discord limit, whatever the answer, and never carry a live ping."""

from __future__ import annotations

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answering.answers import Answer, Citation, Correction, Evidence
from bot.core.articles.diff import KnowledgeDiff
from bot.discord_ui import render
from bot.results import CitedPassage, ReloadReport

TOKENS = [*"abc xyz.*_~`|>[]()<@&!#\\\n", "@everyone", "@here", "<@&123>", "é", "🙂", "word "]
TEXT = st.lists(st.sampled_from(TOKENS), max_size=1_500).map("".join)
SHORT = st.text(max_size=400)
URL = st.one_of(st.none(), st.just("https://example.org/a"), st.text(max_size=60))


@st.composite
def citations(draw: st.DrawFn) -> list[Citation]:
    count = draw(st.integers(0, 40))
    return [
        Citation(
            n=n,
            title=draw(SHORT),
            url=draw(URL),
            article_id="a.md",
            passage_id=f"p{n}",
            quote=draw(TEXT),
            start=0,
            end=1,
            score=draw(st.floats(-5, 50)),
            passage_hash="h",
        )
        for n in range(1, count + 1)
    ]


@st.composite
def evidence(draw: st.DrawFn) -> list[Evidence]:
    return [
        Evidence(
            passage_id=f"p{i}",
            article_id="a.md",
            title=draw(SHORT),
            url=draw(URL),
            score=draw(st.floats(-5, 50)),
            matched_terms=draw(st.lists(st.text(max_size=30), max_size=30)),
            snippet=draw(TEXT),
        )
        for i in range(draw(st.integers(0, 30)))
    ]


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    return Answer(
        question=draw(TEXT),
        answer=draw(st.one_of(TEXT, st.text(min_size=4_000, max_size=9_000))),
        abstained=draw(st.booleans()),
        reason=draw(st.one_of(st.none(), SHORT)),
        citations=draw(citations()),
        evidence=draw(evidence()),
        query_terms=draw(st.lists(st.text(max_size=20), max_size=50)),
        index_version="abc123",
        answer_id=draw(st.one_of(st.none(), st.integers(1, 10**12))),
    )


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= render.TITLE_LIMIT
    assert len(embed.description or "") <= render.DESCRIPTION_LIMIT
    assert len(embed.fields) <= render.FIELD_COUNT_LIMIT
    for f in embed.fields:
        assert 0 < len(f.name or "") <= render.FIELD_NAME_LIMIT
        assert 0 < len(f.value or "") <= render.FIELD_VALUE_LIMIT
    assert len(embed.footer.text or "") <= render.FOOTER_LIMIT
    assert len(embed) <= render.EMBED_TOTAL_LIMIT
    everything = [embed.title, embed.description, embed.footer.text]
    everything += [t for f in embed.fields for t in (f.name, f.value)]
    assert not any("@everyone" in (t or "") for t in everything)


# Examples are deliberately huge (9,000-char answers, 40 citations): hypothesis's health checks
# about slow or large generation fire at random under load, and say nothing about the bot.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(answers())
def test_answer_embeds_fit_discords_limits(answer: Answer) -> None:
    """Answer, abstention and "why" embeds respect every size limit and break @everyone."""
    assert_within_limits(render.answer_embed(answer))
    assert_within_limits(render.why_embed(answer))


@FAST
@given(citations().filter(bool), st.text(max_size=20_000), st.booleans())
def test_source_embed_fits_and_keeps_the_quote(
    cites: list[Citation], around: str, changed: bool
) -> None:
    """/source of a very long passage still fits, and the quote is bold when it fits whole."""
    citation = cites[0]
    passage = around[: len(around) // 2] + citation.quote + around[len(around) // 2 :]
    cited = CitedPassage(
        answer_id=1,
        citation=citation,
        passage=passage,
        quote_at=len(around) // 2,
        changed=changed,
    )
    embed = render.source_embed(cited)
    assert_within_limits(embed)
    if len(passage) <= 1_000 and citation.quote:  # escaped, it still fits whole
        assert f"**{render.safe(citation.quote)}**" in (embed.description or "")
    gone = CitedPassage(answer_id=1, citation=citation, passage=None)
    assert_within_limits(render.source_embed(gone))


@FAST
@given(st.lists(st.text(max_size=300), max_size=200), TEXT)
def test_reload_embed_fits_with_many_problems(problems: list[str], message: str) -> None:
    """A reload report with hundreds of changed files and problems still fits one embed."""
    report = ReloadReport(
        ok=bool(len(problems) % 2),
        message=message,
        index_version="v",
        articles=1,
        passages=2,
        diff=KnowledgeDiff(articles_added=problems, articles_removed=problems),
        problems=problems,
    )
    assert_within_limits(render.reload_embed(report))


def test_content_is_capped_at_2000_characters() -> None:
    """Plain message content is trimmed to 2,000 characters with an ellipsis."""
    text = render.content("word " * 1_000)
    assert len(text) <= render.CONTENT_LIMIT and text.endswith("…")


def test_mentions_are_neutralised() -> None:
    """@everyone, @here, user and role mentions get a zero-width space after the @."""
    text = render.neutralise_mentions("@everyone @here <@123> <@!456> <@&789>")
    assert "@everyone" not in text and "@here" not in text
    assert "<@123>" not in text and "<@&789>" not in text
    assert text.replace("\u200b", "") == "@everyone @here <@123> <@!456> <@&789>"


def test_highlight_bolds_the_quote_and_escapes_the_rest() -> None:
    """The quoted words are bold; markdown in the article text is escaped."""
    passage = "Before *this*. The quoted sentence. After."
    assert render.highlight(passage, "The quoted sentence.", passage.index("The")) == (
        r"Before \*this\*. **The quoted sentence.** After."
    )


def test_long_passage_is_windowed_around_the_quote() -> None:
    """A passage far over the limit is cut around the quote, with ellipses on both sides."""
    passage = "a " * 3_000 + "NEEDLE here. " + "b " * 3_000
    text = render.highlight_window(passage, "NEEDLE here.", passage.index("NEEDLE"), 500)
    assert "**NEEDLE here.**" in text and text.startswith("…") and text.endswith("…")
    assert len(text) < 600


def test_citation_titles_link_to_the_url_only_when_it_is_a_web_address() -> None:
    """A citation with an http(s) url gets a markdown link; other urls are not linked."""
    base = dict(
        n=1,
        title="T [x]",
        article_id="a",
        passage_id="p",
        quote="q",
        start=0,
        end=1,
        score=1.0,
        passage_hash="h",
    )
    _, linked = render.citation_field(Citation(url="https://example.org/t", **base))
    assert linked.startswith("[T (x)](<https://example.org/t>)")
    _, plain = render.citation_field(Citation(url="javascript:alert(1)", **base))
    assert "javascript" not in plain


def test_corrections_and_reading_are_shown_briefly() -> None:
    """The footer says what was searched instead of what; the Why view says it too, with
    what a follow-up was read as."""
    answer = Answer(
        question="What did Aliev say?",
        answer="Aliyev complained. [1]",
        abstained=False,
        corrections=[Correction(typed="aliev", searched="aliyev")],
        resolved="What did Ilham Aliyev say?",
    )
    footer = render.answer_embed(answer).footer.text or ""
    assert footer.startswith("Searched for aliyev (not aliev)")
    why = render.why_embed(answer).description or ""
    assert "*aliyev* instead of *aliev*" in why
    assert "What did Ilham Aliyev say?" in why
