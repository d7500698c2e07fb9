"""Follow-ups read against the previous turn: pronouns, bare question words, 'tell me more'."""

from __future__ import annotations

from pathlib import Path

from bot.core.answering.followup import leans_on_context, own_terms, resolve, wants_something_new
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
    # On the same deal, past what "Why?" already quoted.
    assert "Russia" in more.answer and more.citations
    assert not {c.quote for c in why.citations} & {c.quote for c in more.citations}
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


def test_it_is_the_thing_the_previous_question_named() -> None:
    """ "It" after a who-question is what the question was about, not the person answered;
    a possessive name brings what it owns ("Bertrand's *postulate*")."""
    got = resolve(
        "What does it say?",
        "Who proved Bertrand's postulate first?",
        "Bertrand's postulate (proven first by Chebyshev) states that there is a prime.",
    )
    assert got == "What does Bertrand's postulate say?"
    assert resolve("Where did it come from?", "When did the Black Death reach Europe?", "") == (
        "Where did Black Death come from?"
    )


def test_its_after_a_possessive_name_is_written_once() -> None:
    assert resolve("What is its largest employer?", "What is Fresno's population?", "") == (
        "What is Fresno's largest employer?"
    )


def test_it_that_stands_for_nothing_is_kept() -> None:
    """ "Is it true …" has no antecedent in "it"; the "he" after it still resolves."""
    got = resolve("Is it true that he won?", "Who won Super Bowl 50?", "Von Miller won it.")
    assert got == "Is it true that Von Miller won?"


def test_he_is_never_a_country_and_may_share_a_word_with_the_question() -> None:
    """ "His grandson Kublai Khan … re-uniting China": "he" is the grandson, though "Khan" was
    asked about, and never the country."""
    got = resolve(
        "How did he die?",
        "Who was Genghis Khan's grandson that founded the Yuan dynasty?",
        "While Genghis Khan never conquered all of China, his grandson Kublai Khan completed "
        "that conquest and established the Yuan dynasty, re-uniting China.",
    )
    assert got == "How did Kublai Khan die?"


def test_tell_me_more_quotes_sentences_not_said_yet() -> None:
    """ "Tell me more" and "And the other one?" ask past the previous answer: its sentences
    are not quoted again while others on the topic are left."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    first = engine.answer("When did Turkey receive its first S-400 shipment?")
    assert wants_something_new("Tell me more") and wants_something_new("And the other one?")
    assert not wants_something_new("What else did Turkey buy?")
    for follow_up in ("Tell me more", "And the other one?"):
        more = engine.answer(follow_up, first.as_turn())
        assert not more.abstained, more.reason
        said = {c.quote for c in first.citations}
        assert more.citations and not said & {c.quote for c in more.citations}


def test_when_did_that_happen_asks_when_about_the_previous_question() -> None:
    """ "happen" only points back: the turn is the previous question asked with "when"."""
    assert own_terms("When did that happen?") == []
    assert resolve("When did that happen?", "Where was Super Bowl 50 played?", "") == (
        "When was Super Bowl 50 played?"
    )
