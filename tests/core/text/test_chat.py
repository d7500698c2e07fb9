"""Chat filler, emoji and Discord markup do not change what a question asks."""

from __future__ import annotations

from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.core.text.chat import plain_question

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


def test_markup_and_filler_are_removed() -> None:
    """Mentions, custom emoji, bold and greetings go; the question's words stay."""
    assert plain_question("yo can u tell me who won pls") == "who won"
    assert plain_question("**Who** is <@123456> <:pepe:998877> in charge?") == "Who is in charge?"


def test_everyone_and_here_pings_are_markup_too() -> None:
    """ "@everyone" and "@here" are Discord pings, not words of the question: a question that
    starts with one asks what it asks without it (else "everyone" became a key term the
    articles lack and the bot abstained)."""
    assert plain_question("@everyone what is the INGV?") == "what is the INGV?"
    assert plain_question("@here @EVERYONE who won?") == "who won?"
    assert plain_question("is everyone safe?") == "is everyone safe?"  # a word, not a ping


def test_a_question_made_only_of_filler_is_left_as_typed() -> None:
    assert plain_question("Tell me more") == "Tell me more"


def test_casual_question_gets_the_same_answer() -> None:
    """Lower case, filler and markup give the answer the plain question gets."""
    engine = Engine(load_knowledge(KNOWLEDGE))
    plain = engine.answer("When did Turkey receive its first S-400 shipment?")
    casual = engine.answer(
        "hey can u tell me when did turkey receive its first s-400 shipment pls 🙏"
    )
    assert not casual.abstained
    assert casual.citations[0].quote == plain.citations[0].quote
