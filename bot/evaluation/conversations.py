"""Conversations of user-typed questions, scored per category (paraphrased, casual, …).

A conversation is one or more turns asked in order, each in the context of the previous
answer, as a chat session asks them. The last turn is the one scored: it either holds a
gold answer, belongs to the conversation's article (an open "Tell me more"), or must be
abstained.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from bot.core.answering.answers import Answer
from bot.core.engine import Engine
from bot.evaluation.metrics import contains_answer, same_article, strip_markers


class TurnRow(BaseModel):
    """One question of a conversation; gold answers where the turn is scored."""

    question: str
    answers: list[str] | None = None  # None: a context turn; []: graded by article
    abstain: bool = False


class Conversation(BaseModel):
    id: str
    category: str
    article: str
    turns: list[TurnRow]


def read_conversations(path: Path) -> list[Conversation]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Conversation.model_validate(json.loads(line)) for line in lines if line.strip()]


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the scored (last) turn of a conversation went."""

    conversation: Conversation
    answer: Answer
    outcome: str  # "correct" | "abstained" | "wrong"


def judge(conversation: Conversation, answer: Answer) -> str:
    """Correct, abstained or wrong, for the conversation's last turn."""
    turn = conversation.turns[-1]
    if turn.abstain:
        return "correct" if answer.abstained else "wrong"
    if answer.abstained:
        return "abstained"
    if turn.answers:
        return "correct" if contains_answer(strip_markers(answer.answer), turn.answers) else "wrong"
    first = answer.citations[0] if answer.citations else None
    on_article = first is not None and same_article(
        conversation.article, first.title, first.article_id
    )
    return "correct" if on_article else "wrong"


def run_conversations(engine: Engine, conversations: Iterable[Conversation]) -> list[Verdict]:
    """Ask each conversation's turns in order, each in the context of the one before."""
    verdicts = []
    for conversation in conversations:
        previous = None
        answer = None
        for turn in conversation.turns:
            answer = engine.answer(turn.question, previous.as_turn() if previous else None)
            previous = answer
        assert answer is not None
        verdicts.append(Verdict(conversation, answer, judge(conversation, answer)))
    return verdicts


@dataclass(slots=True)
class CategoryFigures:
    questions: int = 0
    correct: int = 0
    abstained: int = 0
    wrong: int = 0
    failures: list[str] = field(default_factory=list)

    def rate(self, part: int) -> float:
        return part / self.questions if self.questions else 0.0


def by_category(verdicts: Sequence[Verdict]) -> dict[str, CategoryFigures]:
    """Counts of correct / abstained / wrong per category, in first-seen order."""
    out: dict[str, CategoryFigures] = {}
    for v in verdicts:
        figures = out.setdefault(v.conversation.category, CategoryFigures())
        figures.questions += 1
        if v.outcome == "correct":
            figures.correct += 1
        elif v.outcome == "abstained":
            figures.abstained += 1
        else:
            figures.wrong += 1
        if v.outcome != "correct":
            figures.failures.append(v.conversation.id)
    return out
