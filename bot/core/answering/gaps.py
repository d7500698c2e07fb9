"""Knowledge gaps: questions the bot abstained on or that got 👎, grouped by their key terms.

Pure: the store hands over stored questions with their analysed terms (the same analysis
that searched for them), and this module decides which ones are the same question.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from bot.core.answering.answers import Evidence

# Two questions are near-duplicates when they share at least this share of all their key
# terms (Jaccard), or when every key term of one (two or more) is in the other: "capital of
# France" {capit, franc} and "capital city of France" {capit, citi, franc}; two questions
# sharing one term of three stay apart.
SAME_QUESTION = 2 / 3
EXAMPLES = 3
CLOSEST = 3


class GapQuestion(BaseModel):
    """One stored question that the bot could not answer well."""

    answer_id: int
    question: str
    terms: list[str]  # the analysed query terms (stems), as searched
    asked_at: datetime
    abstained: bool
    downvotes: int = 0
    reasons: list[str] = []  # the reasons given with 👎, if any
    closest: list[Evidence] = []


class GapGroup(BaseModel):
    """Near-duplicate questions counted together, with what the bot had closest."""

    terms: list[str]
    count: int
    examples: list[str]
    last_asked: datetime
    abstained: int
    downvotes: int
    reasons: list[str]
    closest: list[Evidence]
    answer_ids: list[int]


def _key(question: GapQuestion) -> frozenset[str]:
    terms = frozenset(question.terms)
    # No key terms at all (only stopwords): only the same wording is the same question.
    return terms or frozenset({" ".join(question.question.casefold().split())})


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    shared = len(a & b)
    return shared >= SAME_QUESTION * len(a | b) or shared == min(len(a), len(b)) >= 2


def group_gaps(questions: Iterable[GapQuestion]) -> list[GapGroup]:
    """Group near-duplicates; the most frequent groups first, then the most recently asked.

    Each question joins the first group (in order of creation, newest questions first) whose
    first question's key terms it is similar to, so a group never drifts away from its seed.
    """
    ordered = sorted(questions, key=lambda q: (q.asked_at, q.answer_id), reverse=True)
    seeds: list[frozenset[str]] = []
    members: list[list[GapQuestion]] = []
    for question in ordered:
        key = _key(question)
        for i, seed in enumerate(seeds):
            if key == seed or _similar(key, seed):
                members[i].append(question)
                break
        else:
            seeds.append(key)
            members.append([question])
    groups = [_summarise(group) for group in members]
    groups.sort(key=lambda g: (g.count, g.last_asked), reverse=True)
    return groups


def _summarise(group: list[GapQuestion]) -> GapGroup:
    """`group` is newest first."""
    examples: list[str] = []
    seen: set[str] = set()
    for q in group:
        folded = " ".join(q.question.casefold().split())
        if folded not in seen and len(examples) < EXAMPLES:
            seen.add(folded)
            examples.append(q.question)
    closest: list[Evidence] = []
    passages: set[str] = set()
    for q in group:  # the newest question's closest passages first: the current knowledge
        for evidence in q.closest:
            if evidence.passage_id not in passages and len(closest) < CLOSEST:
                passages.add(evidence.passage_id)
                closest.append(evidence)
    terms = sorted(group[0].terms)
    return GapGroup(
        terms=terms,
        count=len(group),
        examples=examples,
        last_asked=group[0].asked_at,
        abstained=sum(q.abstained for q in group),
        downvotes=sum(q.downvotes for q in group),
        reasons=[r for q in group for r in q.reasons][:EXAMPLES],
        closest=closest,
        answer_ids=[q.answer_id for q in group],
    )
