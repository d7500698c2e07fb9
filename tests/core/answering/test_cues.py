"""Question cues: what a question asks for, and whether a sentence offers it."""

from bot.core.answering.cues import (
    asks_who,
    expected_kind,
    focus_terms,
    names_another,
    qualified_heads,
    satisfies,
)
from bot.core.text.analysis import analyze


def test_expected_kind_reads_the_question_word() -> None:
    """How many asks for a number, when for a time, who and where for a name."""
    assert expected_kind("How many moons does Mars have?") == "number"
    assert expected_kind("When did the war end?") == "time"
    assert expected_kind("Who wrote Hamlet?") == "name"
    assert expected_kind("Where is Paris?") == "name"
    assert expected_kind("Why is the sky blue?") is None


def test_a_sentence_satisfies_a_kind_with_something_new() -> None:
    """A year answers "when"; a name already in the question does not answer "who"."""
    assert satisfies("time", "It ended in 1945.", set())
    assert not satisfies("time", "It ended long ago.", set())
    assert satisfies("number", "Mars has two moons.", set())
    terms = set(analyze("Who defeated Napoleon?"))
    assert not satisfies("name", "It was said that Napoleon lost.", terms)
    assert satisfies("name", "At Waterloo, Wellington defeated him.", terms)


def test_focus_terms_are_the_words_after_what_or_which() -> None:
    """The words after what/which name the thing asked for ("What missile system …")."""
    assert focus_terms("What missile system did they buy?") == set(
        analyze("missile system", names=False)
    )
    assert focus_terms("Why did they buy it?") == set()


def test_qualified_heads_of_and_possessive() -> None:
    """The prime minister "of Turkey" and "Turkey's" prime minister ask about one head."""
    of = qualified_heads("Who is the prime minister of Turkey?")
    possessive = qualified_heads("Who is Turkey's prime minister?")
    assert of == possessive
    assert of[1] == set(analyze("Turkey", names=False))


def test_names_another_spots_a_different_qualifier() -> None:
    """Armenia's prime minister does not answer who Turkey's is; Turkey's own does."""
    heads, modifiers = qualified_heads("Who is the prime minister of Turkey?")
    assert names_another("The Armenian Prime Minister visited.", heads, modifiers, {})
    assert not names_another("The Prime Minister of Turkey visited.", heads, modifiers, {})
    assert asks_who("Whose idea was it?") and not asks_who("What is it?")
