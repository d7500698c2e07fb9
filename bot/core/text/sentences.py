"""Sentence boundaries with exact character offsets, for quoting passages verbatim."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import sentencex

# A line break between words, unless the next line starts a list item or a heading.
_SOFT_BREAK = re.compile(r"(?<=\S)[ \t]*\n(?![ \t]*(?:[-*+•#>|]|\d+[.)]\s))(?=[ \t]*\S)")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Span(NamedTuple):
    start: int
    end: int


def one_line(text: str) -> str:
    """The text as quotes show it: every run of whitespace as one space, none at the ends."""
    return " ".join(text.split())


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


@lru_cache(maxsize=50_000)
def sentence_spans(text: str) -> tuple[Span, ...]:
    """Split `text` into sentences; each span's slice of `text` is the sentence, trimmed.

    sentencex (rule-based, compiled) splits a passage in microseconds, so answers never
    wait on segmentation; its pieces are located in the text itself, so offsets stay exact
    whatever it does with whitespace.
    """
    # A lone line break inside a paragraph is a soft wrap (as in Markdown), not a sentence
    # end; same-length replacement keeps every offset valid for the original text.
    flat = _SOFT_BREAK.sub(lambda m: " " * len(m.group()), text)
    # sentencex takes UTF-8: a lone surrogate (never from a file, but possible in a str)
    # becomes U+FFFD, one code point for one, so offsets still hold.
    flat = _SURROGATE.sub("\ufffd", flat)
    spans: list[Span] = []
    cursor = 0
    for piece in sentencex.segment("en", flat):
        found = flat.find(piece, cursor)
        if found < 0:  # not a verbatim piece: never quote it
            continue
        span = _trimmed(text, found, found + len(piece))
        cursor = found + len(piece)
        if span:
            spans.append(span)
    if not spans:
        whole = _trimmed(text, 0, len(text))
        return (whole,) if whole else ()
    return tuple(spans)
