"""The analyzer: one function that questions and passages both go through."""

from __future__ import annotations

import pytest

from bot.core.text.analysis import analyze, normalize, term_words


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Erdogan", "Erdoğan"),
        ("CNN Turk", "CNN Türk"),
        ("Turkeys", "Turkey’s"),
        ("armenias", "Armenia's"),
        ("Sao Paulo", "São Paulo"),
        ("Ilham Aliyev", "ILHAM ALIYEV"),
        ("naive cafe", "naïve café"),
    ],
)
def test_typed_forms_match_written_forms(typed: str, written: str) -> None:
    """Accents, case and apostrophes do not stop a typed word from matching the article."""
    assert analyze(typed) == analyze(written)


def test_typographic_quotes_and_dashes_are_plain() -> None:
    """Curly quotes and long dashes fold to their ASCII forms before tokenising."""
    assert normalize("“disruptive” — S‑400 ‘x’") == "\"disruptive\" - s-400 'x'"


@pytest.mark.parametrize("token", ["S-400", "S400", "s-400"])
def test_model_numbers_stay_findable(token: str) -> None:
    """`S-400` is indexed so that `S-400`, `S400` and `s-400` all find it."""
    assert "s400" in analyze(token)
    assert "s400" in analyze("Turkey received the S-400 system")


def test_years_and_numbers_are_kept() -> None:
    """Years and other numbers are searchable terms."""
    assert analyze("in 2019 and 2017") == ["2019", "2017"]
    assert "35" in analyze("F-35")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("tenth series", "10th series"),
        ("twenty-five men", "25 men"),
        ("in the 1960's", "in the 1960s"),
        ("the twenty-first century", "the 21st century"),
        ("seven hills", "7 hills"),
        ("1st place", "first place"),
    ],
)
def test_number_words_and_ordinals_meet_digits(typed: str, written: str) -> None:
    """Number words, ordinals and decades are indexed as the digits people also write."""
    assert analyze(typed) == analyze(written)


def test_ordinals_stay_apart_from_cardinals() -> None:
    """Ordinals are not cardinals: third series is not three series."""
    assert analyze("third series") != analyze("three series")


def test_dotted_acronyms_fold_to_their_letters() -> None:
    """Dotted acronyms (U.S., N.A.T.O.) are the words "us" and "nato", not lone letters."""
    assert analyze("U.S. president") == analyze("US president") == ["us", "presid"]
    assert analyze("N.A.T.O.") == ["nato"]
    assert analyze("e.g. this") == []


def test_capitalised_names_also_index_their_initials() -> None:
    """A passage naming the United States or the Countering America’s Adversaries Through
    Sanctions Act can be found by "US" or "CAATSA"; questions do not get initials."""
    assert "us" in analyze("The United States fears")
    assert "caatsa" in analyze("under the Countering America’s Adversaries Through Sanctions Act")
    assert "fbi" in analyze("the Federal Bureau of Investigation")
    assert analyze("Who is Peyton Manning?", names=False) == ["peyton", "man"]


def test_stopwords_are_dropped_and_words_stemmed() -> None:
    """Function words go; content words are Snowball-stemmed."""
    assert analyze("What is the capital of the countries?") == ["capit", "countri"]


def test_question_of_only_stopwords_has_no_terms() -> None:
    """A question made only of stopwords or punctuation yields no terms."""
    assert analyze("what is it that they were?") == []
    assert analyze("?!... ---") == []


def test_won_is_the_past_of_win_not_a_stopword() -> None:
    """A question about winning ("Who won the Super Bowl?") keeps `won`, as the stem win."""
    assert analyze("Who won the Super Bowl?", names=False) == ["win", "super", "bowl"]
    assert analyze("won") == analyze("wins")


def test_may_the_month_is_kept() -> None:
    """The month stays a term: "What happened in May 2019?" keeps `may`."""
    assert analyze("What happened in May 2019?", names=False) == ["happen", "may", "2019"]


def test_irregular_verbs_and_spelling_variants_meet() -> None:
    """`spoke` finds `speak`, `bought` finds `buy`, `defense` finds `defence`."""
    assert analyze("spoke") == analyze("speak")
    assert analyze("bought") == analyze("buy")
    assert analyze("defense") == analyze("defence")
    assert analyze("colour") == analyze("color")


def test_invisible_characters_do_not_split_words() -> None:
    """Zero-width and bidirectional marks are ignored."""
    assert analyze("Kara\u200bpetyan\u202e") == analyze("Karapetyan")


def test_compatibility_forms_are_folded() -> None:
    """NFKC: full-width letters and ligatures read as plain letters."""
    assert analyze("ＡＢＣ ﬁnance") == analyze("ABC finance")


def test_term_words_show_words_not_stems() -> None:
    """Users see the word they typed for each term, not its stem."""
    assert term_words("capital of France") == {"capit": "capital", "franc": "france"}
