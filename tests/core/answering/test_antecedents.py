"""Antecedents: a sentence that points back is quoted with the one before it."""

from bot.core.answering.antecedents import antecedent, refers_back

TEXT = "Marie Curie won two Nobel prizes. She was born in Warsaw."


def test_pronoun_openings_refer_back_in_every_mode_but_zero() -> None:
    """Mode 0 never reaches back; "She …" needs its antecedent in modes 1 and 2."""
    assert not refers_back("She was born in Warsaw.", 0)
    assert refers_back("She was born in Warsaw.", 1)
    assert refers_back("She was born in Warsaw.", 2)


def test_demonstratives_refer_back_only_in_mode_two() -> None:
    """A demonstrative ("these weapons") points back in mode 2 only; "this was" does not."""
    assert not refers_back("The army used these weapons.", 1)
    assert refers_back("The army used these weapons.", 2)
    assert not refers_back("The army knew this was over.", 2)


def test_antecedent_is_the_sentence_before_within_the_limit() -> None:
    """The previous sentence is returned, unless both together are too long."""
    start = TEXT.index("She")
    found = antecedent(TEXT, start, len(TEXT), mode=2, max_chars=400)
    assert found is not None and TEXT[found.start : found.end] == TEXT[:start].strip()
    assert antecedent(TEXT, start, len(TEXT), mode=2, max_chars=20) is None
    assert antecedent(TEXT, 0, start - 1, mode=2, max_chars=400) is None
