"""Sentence boundaries with exact character offsets, for quoting passages verbatim."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import pysbd

_segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)


# A line break between words, unless the next line starts a list item or a heading.
_SOFT_BREAK = re.compile(r"(?<=\S)[ \t]*\n(?![ \t]*(?:[-*+•#>|]|\d+[.)]\s))(?=[ \t]*\S)")


class Span(NamedTuple):
    start: int
    end: int


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


@lru_cache(maxsize=50_000)
def sentence_spans(text: str) -> tuple[Span, ...]:
    """Split `text` into sentences; each span's slice of `text` is the sentence, trimmed."""
    spans: list[Span] = []
    cursor = 0
    # A lone line break inside a paragraph is a soft wrap (as in Markdown), not a sentence
    # end; same-length replacement keeps every offset valid for the original text.
    source, text = text, _SOFT_BREAK.sub(lambda m: " " * len(m.group()), text)
    for piece in _segmenter.segment(text):
        # pysbd's offsets drift on some inputs; re-anchor each sentence on the text itself.
        found = text.find(piece.sent, cursor)
        start, end = (found, found + len(piece.sent)) if found >= 0 else (piece.start, piece.end)
        span = _trimmed(text, max(start, cursor), min(end, len(text)))
        if span:
            spans.append(span)
            cursor = span.end
    text = source
    if not spans:
        whole = _trimmed(text, 0, len(text))
        return (whole,) if whole else ()
    return tuple(spans)
