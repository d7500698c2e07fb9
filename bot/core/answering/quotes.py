"""Quotes as an answer shows them: an over-long sentence narrowed to its best clauses, "…"
where a quote cuts a sentence, short snippets of passages."""

from __future__ import annotations

import re
from itertools import pairwise

from bot.core.text.analysis import analyze
from bot.core.text.sentences import one_line, sentence_spans

_CLAUSE_END = re.compile(r"[,;:—–…]\s+|\s+[—–-]\s+")


def narrowed(text: str, start: int, end: int, terms: set[str], max_chars: int) -> tuple[int, int]:
    """Narrow an over-long sentence to its clauses that carry the most question terms."""
    if end - start <= max_chars:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_END.finditer(text, start, end)] + [end]
    # Each clause analysed once; a run of clauses holds the union of their terms.
    clause_terms = [terms & set(analyze(text[a:b])) for a, b in pairwise(cuts)]
    best = (start, start + max_chars)
    best_score = -1.0
    for i, a in enumerate(cuts[:-1]):
        found: set[str] = set()
        for j, b in enumerate(cuts[i + 1 :], start=i):
            if b - a > max_chars:
                break
            found |= clause_terms[j]
            score = len(found) + (b - a) / 10_000
            if score > best_score:
                best, best_score = (a, b), score
    a, b = best
    if best_score < 0:  # no clause boundary fits: cut at a word boundary
        space = text.rfind(" ", a, b)
        b = space if space > a else b
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:—–-"):
        b -= 1
    while a < b and text[a].isspace():
        a += 1
    return a, b


def snippet(text: str, limit: int = 200) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def shown_quote(text: str, start: int, end: int) -> str:
    """The quote as shown in the answer: "…" where it cuts a sentence (the citation's quote
    itself stays a verbatim slice of the passage)."""
    spans = sentence_spans(text)
    shown = one_line(text[start:end])
    if start not in {sp.start for sp in spans}:
        shown = "…" + shown
    if end not in {sp.end for sp in spans}:
        shown += "…"
    return shown
