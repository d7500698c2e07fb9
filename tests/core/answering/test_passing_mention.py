"""A question about something the knowledge base names only in passing is abstained."""

from __future__ import annotations

from pathlib import Path

from bot.core.answering.cues import named_and_asked
from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.core.text.analysis import analyze

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"


def test_names_and_what_is_asked_about_them() -> None:
    """Capitalised runs after the first word are names; the rest is what is asked."""
    q = "Who is the lead singer of Coldplay?"
    named, asked = named_and_asked(q, set(analyze(q, names=False)))
    assert named == {"coldplay"}
    assert asked == {"lead", "singer"}


def test_passing_mention_abstains_and_says_why() -> None:
    """'Reuters' is in the article (it reported the deal); who founded it is not."""
    answer = Engine(load_knowledge(KNOWLEDGE)).answer("Who founded Reuters?")
    assert answer.abstained
    assert "only in passing" in (answer.reason or "")


def test_question_about_what_the_article_says_of_the_name_is_answered() -> None:
    """The guard leaves questions whose other words the article does have."""
    answer = Engine(load_knowledge(KNOWLEDGE)).answer("What did Reuters report?")
    assert not answer.abstained
