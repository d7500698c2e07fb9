"""Plain data of the core: the knowledge base's passages as one sequence."""

from __future__ import annotations

import pytest

from bot.core.articles.loader import parse_article
from bot.core.articles.models import AllPassages, KnowledgeBase


def _kb() -> KnowledgeBase:
    return KnowledgeBase(
        (
            parse_article("a.md", "A\n\nOne.\n\nTwo.\n"),
            parse_article("b.md", "B\n\nThree.\n"),
            parse_article("c.md", "C\n\nFour.\n\nFive.\n\nSix.\n"),
        )
    )


def test_all_passages_behave_like_the_tuple_of_every_articles_passages() -> None:
    kb = _kb()
    expected = tuple(p for a in kb.articles for p in a.passages)
    passages = kb.passages
    assert isinstance(passages, AllPassages)
    assert len(passages) == 6 and tuple(passages) == expected
    assert [passages[i] for i in range(-6, 6)] == [*expected, *expected]
    assert passages[1:5] == expected[1:5] and passages[::-2] == expected[::-2]
    assert passages == expected and expected == passages and hash(passages) == hash(expected)
    assert passages != list(expected)
    with pytest.raises(IndexError):
        passages[6]
    with pytest.raises(IndexError):
        passages[-7]


def test_an_empty_knowledge_base_has_no_passages() -> None:
    kb = KnowledgeBase(())
    assert kb.is_empty and len(kb.passages) == 0 and tuple(kb.passages) == ()
