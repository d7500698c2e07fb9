"""Places and their people's adjectives meet (countryinfo's table), in both directions."""

from __future__ import annotations

from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.core.text.analysis import analyze
from bot.core.text.demonyms import demonym_links

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


def _term(word: str) -> str:
    return analyze(word, names=False)[0]


def test_irregular_demonyms_link_to_their_country() -> None:
    """Turkish ~ Turkey, French ~ France, Dutch ~ Netherlands, both ways."""
    links = demonym_links()
    for adjective, place in [("Turkish", "Turkey"), ("French", "France"), ("Dutch", "Holland")]:
        assert _term(place) in links[_term(adjective)]
        assert _term(adjective) in links[_term(place)]


def test_shared_demonym_stands_for_the_most_populous_place() -> None:
    """'French' is also Réunion's demonym; it links to France only."""
    assert demonym_links()[_term("French")] == {_term("France")}


def test_turkish_president_finds_the_president_of_turkey() -> None:
    """The adjective in the question meets the country's name in the article."""
    answer = Engine(load_knowledge(KNOWLEDGE)).answer("who is the turkish president")
    assert not answer.abstained
    assert "Erdoğan" in answer.answer
