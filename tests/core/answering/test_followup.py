"""Follow-ups read against the previous turn: pronouns, bare question words, 'tell me more'."""

from __future__ import annotations

from pathlib import Path

from bot.core.answering.followup import leans_on_context, own_terms, resolve
from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.core.text.analysis import analyze

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


def test_pronoun_becomes_the_subject_asked_about() -> None:
    """'Who was X?' makes X what 'he' means next."""
    got = resolve("Where was he born?", "Who was Martin Luther?", "Martin Luther was a monk.")
    assert got == "Where was Martin Luther born?"


def test_pronoun_after_a_who_question_is_the_person_answered() -> None:
    """The answer's name beyond the question's own words, a full name for he/she."""
    got = resolve(
        "What is his full name?",
        "Who is Armenia's prime minister?",
        "Armenian Prime Minister Nikol Pashinyan spoke in Parliament.",
    )
    assert got == "What is Nikol Pashinyan's full name?"


def test_bare_question_word_reuses_the_previous_question() -> None:
    """'When?' after 'Where was it played?' asks when, about the same thing."""
    assert resolve("When?", "Where was Super Bowl 50 played?", "") == (
        "When was Super Bowl 50 played?"
    )
    assert resolve("Tell me more", "Who wrote Civil Disobedience?", "") == (
        "Who wrote Civil Disobedience?"
    )


def test_stand_alone_question_is_not_rewritten() -> None:
    assert resolve("Who founded the Yuan dynasty?", "Who was Martin Luther?", "") is None
    assert not leans_on_context("Who founded the Yuan dynasty?")


def test_referring_words_are_no_key_terms() -> None:
    """'full', 'name', 'tell', 'more' only point back."""
    assert own_terms("Tell me more") == []
    assert own_terms("What is his full name?") == []


def test_full_name_follow_up_is_answered_with_its_reading() -> None:
    """After the prime minister question, 'What is his full name?' is answered, not abstained,
    and the answer says what the turn was read as."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    first = engine.answer("Who is Armenia's prime minister?")
    second = engine.answer("What is his full name?", first.as_turn())
    assert not second.abstained
    assert "Nikol Pashinyan" in second.answer
    assert second.resolved == "What is Nikol Pashinyan's full name?"


def test_a_chain_of_turns_with_no_words_of_their_own_stays_answered() -> None:
    """ "Tell me more" after "Why?" reads as "Why?", which has no words of its own either: it
    is answered from the conversation's terms, not abstained on as "no searchable words"."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    first = engine.answer("When did Turkey receive its first S-400 shipment?")
    why = engine.answer("Why?", first.as_turn())
    more = engine.answer("Tell me more", why.as_turn())
    assert not why.abstained
    assert not more.abstained, more.reason
    assert "S-400" in more.answer and more.citations
    assert more.carried_terms


def test_a_follow_up_read_in_context_says_so_even_when_not_rewritten() -> None:
    """ "What was the score?" has no pronoun to rewrite but is read with the previous turn's
    terms: `resolved` says it was read after that question; a stand-alone question's is None."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    first = engine.answer("When did Turkey receive its first S-400 shipment?")
    leaning = engine.answer("What was the price?", first.as_turn())
    assert leaning.carried_terms
    assert leaning.resolved == (
        "What was the price? (after: When did Turkey receive its first S-400 shipment?)"
    )
    alone = engine.answer("Who is Armenia's prime minister?", first.as_turn())
    assert alone.resolved is None and not alone.carried_terms


def test_he_after_a_who_question_is_the_person_nearest_what_was_asked() -> None:
    """The answer to "who" names several things; "he" is the person standing by the words the
    question asked about, not a place or a date the sentence opens with."""
    got = resolve(
        "Where did he go to study the plague?",
        "Who is Yersinia pestis named after?",
        "Since 1894, teams of scientists visited Hong Kong, among whom was the French-Swiss "
        "bacteriologist Alexandre Yersin, after whom the pathogen was named Yersinia pestis.",
    )
    assert got == "Where did Alexandre Yersin go to study the plague?"


def test_he_is_never_a_fragment_of_a_name_the_question_asked_about() -> None:
    """ "ABC Television" less the asked "ABC" is no person: the man convinced is."""
    got = resolve(
        "Who convinced him to take the job?",
        "Who was the first president of ABC Entertainment?",
        "In 1975, Fred Pierce, the newly appointed president of ABC Television, convinced Fred "
        "Silverman to become the first president of ABC Entertainment.",
    )
    assert got == "Who convinced Fred Silverman to take the job?"


def test_whose_question_hands_on_the_person_answered() -> None:
    """ "Whose army …?" asks for a person like "who": "his" next is the one answered, and
    "whose" is no key term the passages must hold."""
    got = resolve(
        "What did his army throw over the walls?",
        "Whose army besieged Kaffa?",
        "After a protracted siege, during which the Mongol army under Jani Beg was suffering "
        "from the disease, the army catapulted the infected corpses over the city walls of Kaffa.",
    )
    assert got == "What did Jani Beg's army throw over the walls?"
    assert "whose" not in analyze("Whose army besieged Kaffa?", names=False)
