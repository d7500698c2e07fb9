"""Antecedents: a sentence that points back is quoted with the one before it."""

import itertools

from bot.core.answering.antecedents import antecedent, refers_back
from bot.core.articles.loader import parse_article
from bot.core.articles.models import KnowledgeBase
from bot.core.engine import Engine

TEXT = "Marie Curie won two Nobel prizes. She was born in Warsaw."


def test_pronoun_openings_refer_back_in_every_mode_but_zero() -> None:
    """Off never reaches back; "She …" needs its antecedent in both other modes."""
    assert not refers_back("She was born in Warsaw.", "off")
    assert refers_back("She was born in Warsaw.", "pronouns")
    assert refers_back("She was born in Warsaw.", "pronouns_and_demonstratives")


def test_demonstratives_refer_back_only_in_mode_two() -> None:
    """A demonstrative ("these weapons") points back only when demonstratives count;
    "this was" does not."""
    both = "pronouns_and_demonstratives"
    assert not refers_back("The army used these weapons.", "pronouns")
    assert refers_back("The army used these weapons.", both)
    assert not refers_back("The army knew this was over.", both)


def test_antecedent_is_the_sentence_before_within_the_limit() -> None:
    """The previous sentence is returned, unless both together are too long."""
    start = TEXT.index("She")
    found = antecedent(TEXT, start, len(TEXT), mode="pronouns_and_demonstratives", max_chars=400)
    assert found is not None and TEXT[found.start : found.end] == TEXT[:start].strip()
    assert (
        antecedent(TEXT, start, len(TEXT), mode="pronouns_and_demonstratives", max_chars=20) is None
    )
    assert antecedent(TEXT, 0, start - 1, mode="pronouns_and_demonstratives", max_chars=400) is None


def test_the_sentence_quoted_before_is_not_quoted_again() -> None:
    """When the best sentence points back ("It costs …") and its antecedent is quoted with
    it, the antecedent is not added again as a second sentence: no answer repeats itself."""
    text = (
        "Café Münster reopens\r\n\r\nThe Café Münster in Zürich reopened on Monday after a "
        "renovation.\r\n  It costs 2 million francs, said owner Jürgen Weiß.\r\n\r\n"
        "Owner Jürgen Weiß said the menu now includes vegan Spätzle.\r\n"
    )
    engine = Engine(KnowledgeBase((parse_article("cafe.txt", text),)))
    answer = engine.answer("How much did the Cafe Munster renovation cost?")
    assert not answer.abstained and "2 million francs" in answer.answer
    spans = sorted((c.start, c.end) for c in answer.citations)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, f"overlapping quotes: {[c.quote for c in answer.citations]}"
