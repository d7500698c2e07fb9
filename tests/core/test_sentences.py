"""Sentence spans: the plain-prose fast path splits exactly as pysbd does, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.core.sentences as sentences
from bot.core.loader import load_knowledge
from bot.core.sentences import sentence_spans

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"

# Words and marks around which pysbd has rules: abbreviations, initials, numbers, list items,
# quotes, brackets, ellipses, exclamation words.
PLAIN = ["the", "war", "Paris", "ended", "in", "1990", "It", "He", "she", "cost", "well-known"]
TRAPS = [
    "1990s", "12", "3", "Dr", "St", "Mr", "etc", "al", "no", "J", "U", "S", "US", "(i)",
    "(ii)", "a)", "b)", "1)", "2)", "(born", "1950)", '"Go', 'home"', "“Yes”", "'quoted'",
    "[1]", "(Yes)", "–", "—", "--", "F-35", "3.5", "e.g.", "i.e.", "…", "Yahoo!", "why?", "$5",
    "40%",
]  # fmt: skip
SENTENCE_ENDS = [". ", ". ", "? ", '." ', ".) ", "! ", "... ", ".\n", "\n- ", ". ("]
word = st.one_of(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.sampled_from(TRAPS))
# Sentences of mostly plain words with a trap here and there, so both paths are exercised.
sentence = st.tuples(
    st.lists(word, min_size=1, max_size=6).map(" ".join), st.sampled_from(SENTENCE_ENDS)
).map(lambda s: s[0][:1].upper() + s[0][1:] + s[1])
texts = st.lists(sentence, min_size=1, max_size=6).map(lambda parts: "".join(parts).strip())


def _pysbd_spans(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[sentences.Span, ...]:
    with monkeypatch.context() as patch:
        patch.setattr(sentences, "_plain_spans", lambda _text: None)
        sentence_spans.cache_clear()
        spans = sentence_spans(text)
    sentence_spans.cache_clear()
    return spans


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_plain_path_splits_as_pysbd_or_declines(text: str) -> None:
    """Whenever the fast path answers, its spans are pysbd's, on text full of pysbd's traps."""
    plain = sentences._plain_spans(text)
    if plain is not None:
        with pytest.MonkeyPatch.context() as patch:
            assert plain == _pysbd_spans(text, patch)


def test_plain_path_agrees_with_pysbd_on_the_bundled_articles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every bundled passage gets the same spans with and without the fast path."""
    for passage in load_knowledge(KNOWLEDGE).passages:
        sentence_spans.cache_clear()
        assert sentence_spans(passage.text) == _pysbd_spans(passage.text, monkeypatch)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The war ended in 1990. Paris was rebuilt.",
            ["The war ended in 1990.", "Paris was rebuilt."],
        ),
        ("Why did it end? Nobody knows.", ["Why did it end?", "Nobody knows."]),
        ("  One sentence only  ", ["One sentence only"]),
    ],
)
def test_plain_prose_is_split_at_sentence_ends(text: str, expected: list[str]) -> None:
    """Plain prose takes the fast path and is split at each `.`/`?` before a capital."""
    spans = sentences._plain_spans(text)
    assert spans is not None
    assert [text[s.start : s.end] for s in spans] == expected


@pytest.mark.parametrize(
    "text",
    [
        "He met Dr. Smith. Then he left.",  # an abbreviation pysbd knows
        "It was signed by J. Smith. Then it was lost.",  # an initial
        'He said "Stop. Now" and left.',  # a period inside quotes
        "The options were (a) to stay and (b) to go. Both failed.",  # list items
        "It rose 3.5 percent. Then it fell.",  # a decimal
        "Yahoo! Inc. was founded then.",  # exclamation words
        "(See the map) The war ended.",  # a parenthesis opening a sentence
        "It ended. (See the map) The war was over.",
        "First line\n- a list item",  # a list
    ],
)
def test_tricky_text_goes_to_pysbd(text: str) -> None:
    """Text where pysbd applies one of its rules is not handled by the fast path."""
    assert sentences._plain_spans(text) is None


def test_quotations_are_left_to_pysbd() -> None:
    """Text with double quotes takes pysbd's path: it splits after some quotations."""
    assert sentence_spans("“Yes” Paris.") == (sentences.Span(0, 5), sentences.Span(6, 12))
