"""Questions about the bundled article, typed the way people type them.

Each expected fragment must appear in the answer; off-topic questions must abstain.
Conversations check that follow-ups are read in the context of the previous turn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.answering.answers import Answer
from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_knowledge(KNOWLEDGE))


ANSWERABLE = [
    ("Who is Armenia's defence minister?", "Karapetyan"),
    ("who is armenias defense minister", "Karapetyan"),
    ("Who is the Armenian minister of defence?", "Arshak Karapetyan"),
    ("who is armenias prime minister", "Pashinyan"),
    ("What is the name of Armenia's prime minister?", "Nikol Pashinyan"),
    ("Which TV channel interviewed the president of Azerbaijan?", "CNN Türk"),
    ("Who is the president of Azerbaijan?", "Ilham Aliyev"),
    ("what did aliyev call the russian weapons supply", "disruptive"),
    ("Which fighter jet program was Turkey kicked out of?", "F-35"),
    ("What happened to Turkey's role in the F35 program?", "removed Turkey"),
    ("When did Turkey get its first S-400 delivery?", "2019"),
    ("When did turkey receive the first s400 shipment", "2019"),
    ("What missile system could Turkey buy from Russia?", "S-400"),
    ("Who reported that Russia and Turkey are close to a new deal?", "Reuters"),
    ("Which president imposed sanctions on Ankara?", "Biden"),
    ("what does caatsa stand for", "Countering America’s Adversaries Through Sanctions Act"),
    ("What does the U.S. fear?", "intelligence on the stealth capabilities"),
    ("Under which act were sanctions imposed on Turkey?", "Countering America"),
    ("When was the sanctions act originally passed?", "2017"),
    ("Who is the president of Turkey?", "Erdoğan"),
    ("Has Erdogan said the sanctions will stop the deal?", "no indication"),
    ("Which city did Azeri forces capture?", "Shushi"),
    ("Since when have Armenia and Azerbaijan been at war?", "2020"),
    ("What region are Armenia and Azerbaijan fighting over?", "Nagorno-Karabakh"),
    ("Where was the military exhibition held?", "Moscow"),
    ("What does the US fear the S-400 could be used for?", "intelligence"),
    ("Who makes the F-35?", "Lockheed"),
    ("What air defense batteries did Turkey try to buy from Washington?", "Patriot"),
    ("Who spoke in parliament about army reform?", "Pashinyan"),
    ("How does Turkey argue the S-400 would not threaten NATO?", "not be integrated"),
    ("who reported the US removed turkey from the jet program", "Bloomberg"),
    ("Where did Pashinyan speak?", "Parliament"),
    # A demonym the stemmer leaves apart from the country's name.
    ("Who is the Azerbaijani president?", "Aliyev"),
    ("Which company produces the F-35 jet?", "Lockheed"),
    ("What did the U.S. remove Turkey from?", "F-35"),
]

OFF_TOPIC = [
    "What is the capital of France?",
    "Who won the 2018 World Cup?",
    "How do I bake sourdough bread?",
    "What is the boiling point of water?",
    "Who wrote Pride and Prejudice?",
    "how is the weather in london today",
    "What's the population of Brazil?",
    "Which planet is the largest in the solar system?",
    "What is the tallest mountain in Armenia?",
    "Who is the prime minister of Turkey?",  # the article names Armenia's, not Turkey's
]

CONVERSATIONS = [
    [
        ("Who is Armenia's defence minister?", "Karapetyan"),
        ("What exhibition did he attend?", "military-industrial exhibition"),
        ("Does he want to boost domestic arms production?", "domestic production"),
    ],
    [
        ("Who is the Armenian prime minister?", "Pashinyan"),
        ("Where did he speak?", "Parliament"),
    ],
    [
        ("Which city did Azeri forces capture?", "Shushi"),
        ("What happened after they captured it?", "ceasefire"),
    ],
    [
        ("Who is the president of Azerbaijan?", "Aliyev"),
        ("Which channel interviewed him?", "CNN Türk"),
    ],
]


def _assert_answers(answer: Answer, expected: str) -> None:
    assert not answer.abstained, f"abstained: {answer.reason}"
    assert expected.casefold() in answer.answer.casefold(), answer.answer
    assert "[1]" in answer.answer


@pytest.mark.parametrize(("question", "expected"), ANSWERABLE)
def test_answers_questions_about_the_article(engine: Engine, question: str, expected: str) -> None:
    """A question the article answers gets the fact, marked with its citation."""
    _assert_answers(engine.answer(question), expected)


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_abstains_on_off_topic_questions(engine: Engine, question: str) -> None:
    """A question the article does not answer is abstained, with a reason."""
    answer = engine.answer(question)
    assert answer.abstained, answer.answer
    assert answer.reason
    assert not answer.citations


@pytest.mark.parametrize("turns", CONVERSATIONS, ids=lambda t: t[0][0])
def test_follow_ups_use_the_previous_turn(engine: Engine, turns: list[tuple[str, str]]) -> None:
    """Each follow-up is answered in the context of the turn before it."""
    previous = None
    for question, expected in turns:
        answer = engine.answer(question, previous)
        _assert_answers(answer, expected)
        previous = answer.as_turn()


def test_question_set_is_large_enough() -> None:
    """The set covers at least 30 questions, follow-ups included (issue 3)."""
    assert len(ANSWERABLE) + len(OFF_TOPIC) + sum(len(c) for c in CONVERSATIONS) >= 30


def test_cut_quotes_are_marked_and_citations_stay_verbatim(engine: Engine) -> None:
    """A sentence trimmed to its clauses shows "…" in the answer; the citation's quote is
    still an exact slice of the passage."""
    answer = engine.answer("What did Pashinyan say in Parliament?")
    assert not answer.abstained
    assert "…" in answer.answer
    for citation in answer.citations:
        found = engine.passage(citation.passage_id)
        assert found is not None
        passage, _ = found
        assert citation.quote in passage.text
