"""Follow-up questions: notice when a question leans on the previous turn, and what to borrow."""

from __future__ import annotations

import re

from bot.core.text.analysis import analyze, words

# Words that point back to something said before ("he", "there", "that deal").
_ANAPHORA = frozenset(
    [
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "then",
        "such",
        "same",
        "former",
        "latter",
    ]
)
_LEADING_CONTINUATIONS = ("and ", "also ", "what about", "how about", "what else", "why", "so ")
# Capitalised words that begin sentences or questions carry no entity information.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)*")


def is_follow_up(question: str) -> bool:
    """True when the question refers back (pronouns, 'what about …') rather than stands alone."""
    lowered = " ".join(question.casefold().split())
    if lowered.startswith(_LEADING_CONTINUATIONS):
        return True
    return any(w in _ANAPHORA for w in words(question))


def names_in(text: str) -> list[str]:
    """Capitalised word runs that are not merely sentence-initial: a cheap entity finder."""
    return [m.group() for m in _NAME.finditer(text)]


def context_terms(question: str, answer_text: str) -> list[str]:
    """Terms a follow-up should borrow: the previous question's and the answer's named things."""
    terms = analyze(question, names=False)
    for name in names_in(answer_text):
        terms.extend(analyze(name, names=False))
    return list(dict.fromkeys(terms))  # first occurrence order, no repeats
