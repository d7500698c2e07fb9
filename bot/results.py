"""What the service returns: the models both front ends render (the CLI as text or JSON,
Discord as embeds), so neither needs to know where the figures come from."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bot.core.answering.answers import Citation
from bot.core.articles.diff import KnowledgeDiff


class ReloadReport(BaseModel):
    """The outcome of a reload, for the admin who asked and for the reloads table."""

    ok: bool
    message: str
    index_version: str
    articles: int
    passages: int
    diff: KnowledgeDiff = KnowledgeDiff()
    problems: list[str] = []
    duration_ms: float = 0.0
    actor: str | None = None
    action: str = "reload"  # or index, add, remove, rollback, watch
    version: str | None = None  # the knowledge base version recorded (None: unchanged)
    embedding: str = ""  # the embedding model's state (index), with the command fixing it


class SearchHit(BaseModel):
    """One passage found by a search, best first in its report."""

    passage_id: str
    article_id: str
    title: str
    url: str | None
    score: float
    text: str


class SearchReport(BaseModel):
    """The hits for one query; `reason` says why there are fewer than asked for."""

    query: str
    top_k: int
    hits: list[SearchHit]
    reason: str | None = None


class CitedPassage(BaseModel):
    """The passage behind one citation of a stored answer, as the knowledge base has it now."""

    answer_id: int
    citation: Citation
    passage: str | None  # None: the passage is gone (its article changed or was removed)
    quote_at: int | None = None  # where the quote starts in `passage` (None: not there)
    changed: bool = False  # the passage is there but its text differs from what was cited


Vote = Literal["up", "down"]
VOTE_VALUES: dict[Vote, int] = {"up": 1, "down": -1}


class KbStatus(BaseModel):
    """The knowledge base being served and what the store has seen (/kb, `status`)."""

    articles: int
    passages: int
    index_version: str
    loaded_at: datetime
    problems: list[str]
    answers_served: int
    abstention_rate: float
    feedback_up: int
    feedback_down: int
    last_reload_at: str | None
    last_reload_outcome: str | None
    embedding: str = ""  # the embedding model's state, with the command that fixes a problem
    # Several processes (issue 15): which database, this process, the version all serve.
    store: str = ""
    process: str = ""
    published_version: str | None = None
    version_problem: str | None = None
