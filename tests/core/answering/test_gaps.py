"""Gaps: near-duplicate questions (same key terms after analysis) are counted together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.answering.answers import Evidence
from bot.core.answering.gaps import EXAMPLES, GapQuestion, group_gaps
from bot.core.text.analysis import analyze

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def asked(n: int, question: str, minutes: int, **extra: object) -> GapQuestion:
    """A stored question, its terms analysed as search analyses them."""
    return GapQuestion(
        answer_id=n,
        question=question,
        terms=sorted(set(analyze(question))),
        asked_at=T0 + timedelta(minutes=minutes),
        abstained=True,
        **extra,  # type: ignore[arg-type]
    )


def evidence(passage_id: str) -> Evidence:
    return Evidence(
        passage_id=passage_id,
        article_id="a.md",
        title="A",
        score=1.0,
        matched_terms=[],
        snippet="s",
    )


def test_rewordings_group_together_and_unrelated_questions_stay_apart() -> None:
    """Questions with the same key terms after analysis (plurals, case, stopwords) form one
    group; a question about something else is its own group."""
    groups = group_gaps(
        [
            asked(1, "What is the capital of France?", 0),
            asked(2, "capital city of France", 1),
            asked(3, "The capitals of FRANCE", 2),
            asked(4, "Who painted the Mona Lisa?", 3),
        ]
    )
    assert [g.count for g in groups] == [3, 1]
    assert set(groups[0].answer_ids) == {1, 2, 3}
    assert groups[1].examples == ["Who painted the Mona Lisa?"]


def test_most_frequent_first_then_most_recent() -> None:
    """Groups are ordered by how often they were asked, ties by when they were last asked."""
    groups = group_gaps(
        [
            asked(1, "Who painted the Mona Lisa?", 0),
            asked(2, "When was the Eiffel tower built?", 5),
            asked(3, "Eiffel tower construction date built", 6),
            asked(4, "How tall is Mount Everest?", 10),
        ]
    )
    assert [g.examples[0] for g in groups] == [
        "Eiffel tower construction date built",
        "How tall is Mount Everest?",
        "Who painted the Mona Lisa?",
    ]
    assert groups[0].last_asked == T0 + timedelta(minutes=6)


def test_a_group_keeps_a_few_distinct_examples_reasons_and_closest_passages() -> None:
    """Examples are distinct wordings, newest first, at most a few; closest passages are
    deduplicated; 👎 counts and their reasons are carried."""
    questions = [
        asked(i, q, i, closest=[evidence("p1"), evidence(f"p{i + 2}")])
        for i, q in enumerate(
            [
                "capital of France",
                "the capital of France",
                "capital of france?",
                "France capital",
                "capital France",
            ]
        )
    ]
    questions.append(
        asked(9, "capital of France please", 9, downvotes=2, reasons=["it named Lyon"])
    )
    (group,) = group_gaps(questions)
    assert group.count == 6 and len(group.examples) == EXAMPLES
    assert group.examples[0] == "capital of France please"
    assert len({q.casefold().rstrip("?") for q in group.examples}) == EXAMPLES
    assert group.downvotes == 2 and group.reasons == ["it named Lyon"]
    ids = [e.passage_id for e in group.closest]
    assert len(ids) == len(set(ids)) and "p1" in ids


def test_questions_without_key_terms_group_only_by_wording() -> None:
    """A question of stopwords only has no key terms: only the same words join it."""
    groups = group_gaps(
        [asked(1, "What is it?", 0), asked(2, "what is  it?", 1), asked(3, "Who is he?", 2)]
    )
    assert sorted(g.count for g in groups) == [1, 2]


def test_no_questions_no_groups() -> None:
    """Nothing abstained or rated 👎: no groups."""
    assert group_gaps([]) == []
