"""The user-words set's scoring: the last turn judged, per category, turns asked in order."""

from __future__ import annotations

from pathlib import Path

from bot.core.articles.loader import load_knowledge
from bot.core.engine import Engine
from bot.evaluation.conversations import (
    Conversation,
    by_category,
    read_conversations,
    run_conversations,
)

ROOT = Path(__file__).resolve().parents[2]


def _conv(i: str, category: str, turns: list[dict]) -> Conversation:
    return Conversation.model_validate(
        {"id": i, "category": category, "article": "Russia Says Turkey", "turns": turns}
    )


def test_categories_count_correct_abstained_and_wrong() -> None:
    """Gold in the answer is correct; a must-abstain question answered is wrong."""
    engine = Engine(load_knowledge(ROOT / "knowledge"))
    conversations = [
        _conv(
            "a", "casual", [{"question": "when did turkey get its first s400", "answers": ["2019"]}]
        ),
        _conv(
            "b",
            "off_topic",
            [{"question": "What is the capital of France?", "answers": [], "abstain": True}],
        ),
        _conv(
            "c",
            "follow_up",
            [
                {"question": "Who is Armenia's prime minister?"},
                {"question": "What is his full name?", "answers": ["Nikol Pashinyan"]},
            ],
        ),
    ]
    table = by_category(run_conversations(engine, conversations))
    assert {name: f.correct for name, f in table.items()} == {
        "casual": 1,
        "off_topic": 1,
        "follow_up": 1,
    }


def test_bundled_dev_set_is_well_formed() -> None:
    """Every conversation ends in a scored turn: gold answers, an article, or abstention."""
    rows = read_conversations(ROOT / "benchmarks" / "data" / "user_words_dev.jsonl")
    assert {r.category for r in rows} == {
        "paraphrased",
        "casual",
        "misspelt",
        "off_topic",
        "follow_up",
    }
    for r in rows:
        last = r.turns[-1]
        assert last.abstain or last.answers is not None
