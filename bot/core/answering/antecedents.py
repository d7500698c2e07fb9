"""Antecedents: a sentence that points back ("He …", "these weapons") is quoted with the
sentence before it, so the answer can be understood alone."""

from __future__ import annotations

import re

from bot.core.answering.tuning import AntecedentMode
from bot.core.text.sentences import Span, one_line, sentence_spans

# A demonstrative pointing at something named in an earlier sentence ("these weapons").
_REFERS_BACK = re.compile(
    r"\b(?:these|those|this|such)\s+(?!(?:is|was|are|were|has|had|will|would|can|could|may|might|does|did)\b)[a-z]",
    re.IGNORECASE,
)
# A sentence that opens with a pronoun leans on the one before it for what it is about.
_OPENS_WITH_PRONOUN = re.compile(
    r"^\W*(?:he|she|it|they|his|her|its|their|this|these|those|such|there)\b", re.IGNORECASE
)


def has_demonstrative(sentence: str) -> bool:
    """A demonstrative points at something named earlier ("these weapons")."""
    return bool(_REFERS_BACK.search(sentence))


def opens_with_pronoun(sentence: str) -> bool:
    """The sentence starts with he/it/they/this…: it leans on the one before."""
    return bool(_OPENS_WITH_PRONOUN.search(sentence))


def refers_back(sentence: str, mode: AntecedentMode) -> bool:
    """The sentence cannot be understood alone: it points at something said just before."""
    if mode == "off":
        return False
    if opens_with_pronoun(sentence):
        return True
    return mode == "pronouns_and_demonstratives" and has_demonstrative(sentence)


def antecedent(
    text: str, start: int, end: int, mode: AntecedentMode, max_chars: int
) -> Span | None:
    """The sentence of `text` to quote before `text[start:end]` because that one points back
    at it; None when it does not, there is none, or both together exceed `max_chars`."""
    if not refers_back(text[start:end], mode):
        return None
    before = [sp for sp in sentence_spans(text) if sp.end <= start]
    if not before:
        return None
    if len(one_line(text[before[-1].start : end])) > max_chars:
        return None
    return before[-1]
