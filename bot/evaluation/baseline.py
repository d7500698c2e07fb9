"""The straightforward bot every figure is reported beside.

Lower-cased word tokens, `rank_bm25.BM25Okapi` over paragraphs (no title), and the sentence
of the top paragraph that shares the most distinct words with the question as the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from bot.core.articles.models import KnowledgeBase, Passage
from bot.core.text.sentences import sentence_spans

_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class BaselineAnswer:
    text: str
    passage: Passage | None


class Baseline:
    """rank-bm25 over paragraphs; the best-overlapping sentence of the top one answers."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.passages = list(kb.passages)
        self._bm25 = BM25Okapi([tokens(p.text) for p in self.passages])

    def ranked(self, query: str, k: int) -> list[int]:
        """Positions of the k best paragraphs, best first."""
        scores = self._bm25.get_scores(tokens(query))
        return sorted(range(len(scores)), key=lambda i: -scores[i])[:k]

    def answer(self, question: str) -> BaselineAnswer:
        """Answer with the best-overlapping sentence of the top paragraph (never abstains)."""
        if not self.passages:
            return BaselineAnswer("", None)
        top = self.passages[self.ranked(question, 1)[0]]
        wanted = set(tokens(question))
        best, best_overlap = "", -1
        for span in sentence_spans(top.text):
            sentence = top.text[span.start : span.end]
            overlap = len(wanted & set(tokens(sentence)))
            if overlap > best_overlap:
                best, best_overlap = sentence, overlap
        return BaselineAnswer(best, top)
