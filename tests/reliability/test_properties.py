"""Property and fuzz tests (hypothesis) on the analyzer, the loader and the answer composer.

Issue 7, row 7: no exception for any input; quotes always verbatim; offsets always inside
their passage; every citation marker present in the answer.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.articles.loader import MAX_PASSAGE_CHARS, ArticleRefused, parse_article
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine
from bot.core.text.analysis import analyze, normalize
from bot.service import clean_question

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included (undecodable bytes arrive as those).
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]))
any_text = st.text(any_char, max_size=400)

VOCAB = (
    "Turkey Russia S-400 F-35 missile contract president Erdoğan sanctions 2019 NATO "
    "minister Armenia Pashinyan CNN Türk jet program the of a is who what when did "
    "Zürich café naïve Ελλάδα Москва 北京 مرحبا"
).split()
PUNCT = [".", ",", "?", "!", ";", ":", " —", "…", '"', "'", "’", "(", ")", "[1]", "*", "`", "#"]
SPACES = [" ", " ", " ", "\n", "\n\n", "\t", "\u200b", "\u00a0", "\r\n", "\n\n\n"]

word_like = st.one_of(st.sampled_from(VOCAB), st.text(st.characters(), min_size=1, max_size=12))
prose = st.lists(
    st.tuples(word_like, st.sampled_from(SPACES), st.sampled_from(["", "", "", *PUNCT])),
    max_size=120,
).map(lambda parts: "".join(w + p + s for w, s, p in parts))

yaml_value = st.one_of(
    st.sampled_from(["x", "[a, b]", "{a: 1}", "2020-01-01", "", "null", "&a [*a]", "!!binary x"]),
    st.text(st.characters(), max_size=30),
)
front_matter = st.builds(
    lambda pairs, body, close: (
        "---\n" + "".join(f"{k}: {v}\n" for k, v in pairs) + (close if close else "") + body
    ),
    st.lists(st.tuples(st.sampled_from(["title", "url", "tags", "author", "x"]), yaml_value)),
    prose,
    st.sampled_from(["---\n", "...\n", "--- \r\n", ""]),
)
article_text = st.one_of(prose, front_matter, any_text, st.just("Title\n\n") | st.just(""))


@FAST
@given(any_text)
def test_analyzer_never_raises(text: str):
    """normalize() and analyze() accept any text; terms are non-empty and space-free."""
    normalize(text)
    for term in analyze(text):
        assert term and not any(c.isspace() for c in term)


@FAST
@given(any_text)
def test_clean_question_returns_storable_text_or_refuses(text: str):
    """clean_question gives UTF-8-encodable text or a QuestionError, nothing else."""
    from bot.errors import QuestionError

    try:
        cleaned = clean_question(text, 500)
    except QuestionError:
        return
    cleaned.encode("utf-8")
    assert cleaned == cleaned.strip() and 0 < len(cleaned) <= 500


def check_article(text: str) -> None:
    try:
        article = parse_article("a.md", text)
    except ArticleRefused as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert article.title and "\n" not in article.title and len(article.title) <= 300
    assert article.passages
    previous_end = 0
    for p in article.passages:
        assert text[p.start : p.end] == p.text
        assert p.start >= previous_end and 0 < len(p.text) <= MAX_PASSAGE_CHARS
        previous_end = p.end
    assert len({p.id for p in article.passages}) == len(article.passages)
    again = parse_article("a.md", text)
    assert [p.id for p in again.passages] == [p.id for p in article.passages]  # stable ids


@FAST
@given(article_text)
def test_parse_article_returns_an_article_or_refuses(text: str):
    """Any file text: an article whose passages are exact slices of it, or ArticleRefused."""
    check_article(text)


vocab_prose = st.lists(
    st.tuples(st.sampled_from(VOCAB), st.sampled_from(SPACES), st.sampled_from(["", "", *PUNCT])),
    min_size=3,
    max_size=150,
).map(lambda parts: "".join(w + p + s for w, s, p in parts))


STOP = {"the", "of", "a", "is", "who", "what", "when", "did"}


@st.composite
def articles_and_question(draw: st.DrawFn) -> tuple[list[str], str]:
    """Articles, and a question often made of their own words (so answers, not only abstentions)."""
    vocab_article = st.builds(lambda t, b: f"{t}\n\n{b}", st.sampled_from(VOCAB), vocab_prose)
    texts = draw(
        st.lists(
            st.one_of(vocab_article, vocab_article, prose, front_matter), min_size=1, max_size=3
        )
    )
    own_words = [w for t in texts for w in t.split() if w.lower() not in STOP] or ["x"]
    question = draw(
        st.one_of(
            st.lists(st.sampled_from(own_words), min_size=1, max_size=6).map(" ".join),
            st.lists(st.sampled_from(own_words), min_size=1, max_size=6).map(
                lambda ws: "Who " + " ".join(ws) + "?"
            ),
            prose,
            any_text,
        )
    )
    return texts, question


@SLOW
@given(articles_and_question())
def test_answers_quote_the_source_verbatim(case: tuple[list[str], str]):
    """For any articles and question: quotes are source[start:end] inside their passage."""
    texts, question = case
    articles = []
    sources = {}
    for i, text in enumerate(texts):
        try:
            article = parse_article(f"a{i}.md", text)
        except ArticleRefused:
            continue
        articles.append(article)
        sources[article.id] = text
    engine = Engine(KnowledgeBase(tuple(articles)))
    answer = engine.answer(question)
    if answer.abstained:
        assert not answer.citations
        return
    assert answer.citations
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        source = sources[c.article_id]
        assert source[c.start : c.end] == c.quote
        passage, _ = engine.passage(c.passage_id)
        assert passage.start <= c.start < c.end <= passage.end
        assert f"[{c.n}]" in answer.answer
