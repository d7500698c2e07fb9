"""What an answer is, as the service, the store and the front ends see it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.core.answering.followup import rewritten


class Citation(BaseModel):
    """A numbered, verbatim quote from one passage that supports part of the answer."""

    n: int
    title: str
    url: str | None = None
    article_id: str
    passage_id: str
    quote: str = Field(description="exact substring of the passage (and of the source file)")
    start: int = Field(description="offset of the quote in the source file")
    end: int
    score: float = Field(description="BM25 score of the passage for the question")
    passage_hash: str


class Evidence(BaseModel):
    """A retrieved passage, for 'why this answer?' and for abstentions' closest passages."""

    passage_id: str
    article_id: str
    title: str
    url: str | None = None
    score: float
    matched_terms: list[str]
    snippet: str
    similarity: float | None = None  # the question's cosine with the passage (embedding model)


class Correction(BaseModel):
    """A word of the question the knowledge base does not have, and the one searched instead."""

    typed: str
    searched: str


class Turn(BaseModel):
    """The part of a previous question and answer that a follow-up can lean on."""

    question: str
    answer: str
    context_terms: list[str] = []


class Answer(BaseModel):
    """An answer (or an abstention) with its citations; `answer_id` is set once stored."""

    question: str
    answer: str
    abstained: bool
    reason: str | None = None
    citations: list[Citation] = []
    evidence: list[Evidence] = []
    query_terms: list[str] = []
    context_terms: list[str] = Field(
        default=[], description="terms this turn hands on to a follow-up"
    )
    carried_terms: list[str] = Field(
        default=[], description="terms borrowed from the previous turn (empty unless a follow-up)"
    )
    corrections: list[Correction] = Field(
        default=[], description="misspelt words matched to the knowledge base's own"
    )
    resolved: str | None = Field(
        default=None, description="what a follow-up was read as, with the previous turn"
    )
    index_version: str = ""
    answer_id: int | None = None
    latency_ms: float | None = None

    def as_turn(self) -> Turn:
        """What the next turn leans on: the question as it was read when it was rewritten
        ("What is Nikol Pashinyan's full name?"), so "Tell me more" after it keeps its subject."""
        return Turn(
            question=rewritten(self.resolved) or self.question,
            answer=self.answer,
            context_terms=self.context_terms,
        )
