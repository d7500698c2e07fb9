"""Sentence spans: exact, trimmed slices of the passage, in order, losing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.articles.loader import load_knowledge
from bot.core.text.sentences import Span, sentence_spans

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"

# Words and marks around which splitters have rules: abbreviations, initials, numbers, list
# items, quotes, brackets, ellipses, exclamations, and text no splitter expects.
WORDS = [
    "the", "war", "Paris", "ended", "in", "1990", "It", "He", "she", "cost", "well-known",
    "1990s", "12", "3", "Dr", "St", "Mr", "etc", "al", "no", "J", "U", "S", "US", "(i)",
    "(ii)", "a)", "1)", "(born", "1950)", '"Go', 'home"', "“Yes”", "'quoted'", "[1]", "–", "—",
    "--", "F-35", "3.5", "e.g.", "i.e.", "…", "Yahoo!", "why?", "$5", "40%", "Ünïcode", "東京",
    "🙂", "\u200b", "\t",
]  # fmt: skip
ENDS = [". ", ". ", "? ", '." ', ".) ", "! ", "... ", ".\n", "\n\n", "\n- ", ". (", " "]
sentence = st.tuples(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.sampled_from(ENDS),
).map(lambda s: s[0][:1].upper() + s[0][1:] + s[1])
texts = st.one_of(
    st.lists(sentence, min_size=1, max_size=6).map("".join),
    st.text(max_size=300),  # anything at all
)


def _check_spans(text: str, spans: tuple[Span, ...]) -> None:
    cursor = 0
    for span in spans:
        assert cursor <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip(), "a sentence is trimmed"
        assert not text[cursor : span.start].strip(), "nothing between sentences is lost"
        cursor = span.end
    assert not text[cursor:].strip(), "nothing after the last sentence is lost"


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_spans_are_ordered_trimmed_slices_that_lose_no_text(text: str) -> None:
    _check_spans(text, sentence_spans(text))


def test_every_passage_of_the_bundled_articles_is_split_without_loss() -> None:
    kb = load_knowledge(KNOWLEDGE)
    assert kb.passages
    for passage in kb.passages:
        spans = sentence_spans(passage.text)
        assert spans
        _check_spans(passage.text, spans)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The war ended. Paris is calm? It is.", ["The war ended.", "Paris is calm?", "It is."]),
        ("He met Dr. Smith. Then he left.", ["He met Dr. Smith.", "Then he left."]),
        (
            "The U.S. economy grew 3.5 percent. It was fast.",
            ["The U.S. economy grew 3.5 percent.", "It was fast."],
        ),
        ("“Prices rose,” he said. Next one!", ["“Prices rose,” he said.", "Next one!"]),
        ('He said "Go home." Then he left.', ['He said "Go home."', "Then he left."]),
        ("J. R. R. Tolkien wrote it. He was born.", ["J. R. R. Tolkien wrote it.", "He was born."]),
        ("Use e.g. a pen, i.e. ink. Done.", ["Use e.g. a pen, i.e. ink.", "Done."]),
        ("no punctuation at all", ["no punctuation at all"]),
    ],
)  # fmt: skip
def test_sentences_end_where_a_reader_would_end_them(text: str, expected: list[str]) -> None:
    assert [text[s.start : s.end] for s in sentence_spans(text)] == expected


def test_a_soft_line_break_does_not_end_a_sentence_but_a_blank_line_does() -> None:
    text = "A wrapped\nsentence goes on. Next.\n\nA new paragraph"
    assert [text[s.start : s.end] for s in sentence_spans(text)] == [
        "A wrapped\nsentence goes on.",
        "Next.",
        "A new paragraph",
    ]


def test_list_items_are_sentences_of_their_own() -> None:
    text = "Steps:\n- open the file\n- save it"
    assert [text[s.start : s.end] for s in sentence_spans(text)] == [
        "Steps:",
        "- open the file",
        "- save it",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert sentence_spans(text) == ()


def test_huge_text_without_punctuation_is_one_sentence() -> None:
    text = "word " * 40_000
    assert sentence_spans(text) == (Span(0, len(text) - 1),)


def test_a_lone_surrogate_keeps_offsets_exact() -> None:
    text = "Broken \ud800 text. Next one."
    assert [text[s.start : s.end] for s in sentence_spans(text)] == [
        "Broken \ud800 text.",
        "Next one.",
    ]
