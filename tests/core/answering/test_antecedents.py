"""Antecedents: a sentence that points back is quoted with the one before it."""

from bot.core.answering.antecedents import antecedent, refers_back

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
