"""Sentence boundaries with exact character offsets, for quoting passages verbatim."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

import pysbd
from pysbd.lang.english import English

_segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)

# Plain prose, where pysbd's answer is known without running it (~100x faster): only these
# characters, and every `.`/`?` ends a sentence the plain way (see _plain_spans).
_PLAIN_CHARS = re.compile(r"(?:[^\W_]|[ ,;:'’“”()\[\]\"%$&/.?+=~·°£€×–—−-])*")
_TERMINATOR = re.compile(r"[.?]")
# What may open a sentence that pysbd's boundary regex then closes early.
_OPENERS = frozenset("\"“'‘(")
_QUOTED_PARENS = re.compile(r'["”]\s\(.*\)\s["“]')  # pysbd's PARENS_BETWEEN_DOUBLE_QUOTES_REGEX
_SLANTED = re.compile(r"[^“”]")
# Letters pysbd uses as placeholders (or in its exclamation words): text holding one is its.
_PYSBD_LETTERS = frozenset("ȸȹᓰᓱᓳᓴᓷᓸǃ")
# What pysbd may read as list items: `(a)`, `b)`, `(iv)`; and numbered ones, `2) `.
# Only single letters and roman numerals count as letters of a list there.
_LETTER_ITEM = re.compile(r"(?:^|[\s(])(?:[a-zA-Z]|[ivxlcdmIVXLCDM]+)\)")
_NUMBER_ITEM = re.compile(r"\d{1,2}(?=\)\s)")  # pysbd's NUMBERED_LIST_PARENS_REGEX
_ABBREVIATIONS = frozenset(
    a.lower()
    for a in (
        *English.Abbreviation.ABBREVIATIONS,
        *English.Abbreviation.PREPOSITIVE_ABBREVIATIONS,
        *English.Abbreviation.NUMBER_ABBREVIATIONS,
    )
)


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


def _plain_spans(text: str) -> tuple[Span, ...] | None:
    """Sentences of plain prose, exactly as pysbd splits them; None when the text is not plain.

    Plain: allowed characters only (no brackets, `!`, `--`, line breaks or tabs); every `.`
    and `?` closes a word of two or more letters that follows a space and is not an
    abbreviation pysbd knows, and is followed by one space and a capital (or ends the text),
    outside double quotes and parentheses; no quote opens with `'`; nothing pysbd reads as a
    list item. Anything else: pysbd.
    """
    if not _PLAIN_CHARS.fullmatch(text) or "--" in text or text[:1] in _OPENERS:
        return None
    if not _PYSBD_LETTERS.isdisjoint(text):
        return None
    if " '" in text or " ‘" in text or (")" in text and _list_items(text)):
        return None
    if _QUOTED_PARENS.search(text):
        return None  # pysbd's "parens between double quotes" rule rewrites such text
    spans: list[Span] = []
    start = 0
    for terminator in _TERMINATOR.finditer(text):
        i = terminator.start()
        if i + 1 < len(text) and not (text[i + 1] == " " and "A" <= text[i + 2 : i + 3] <= "Z"):
            return None
        j = i
        while j > start and text[j - 1].isalnum():
            j -= 1
        word = text[j:i]
        # Not a letter or a number of one or two digits (initials, list items: `J.`, `2.`).
        if len(word) < 2 or (word.isdigit() and len(word) < 3) or not word.isalnum():
            return None
        if (j > 0 and text[j - 1] not in " -") or word.lower() in _ABBREVIATIONS:
            return None
        spans.append(Span(start, i + 1))
        start = i + 2
        if text[start : start + 1] in _OPENERS:
            # pysbd's boundary regex ends a sentence after a quotation or parenthesis that
            # opens one and is followed by a capital: `“Yes” Paris.`, `(See below) The`.
            return None
    if start < len(text):
        spans.append(Span(start, len(text)))
    out = []
    for span in spans:
        sentence = text[span.start : span.end]
        if sentence.count('"') % 2 or any(
            sentence.count(a) != sentence.count(b) for a, b in ("()", "[]")
        ):
            return None
        if ("“" in sentence or "”" in sentence) and _SLANTED.sub("", sentence) != "“”" * (
            sentence.count("“")
        ):
            return None  # slanted quotes must pair up inside the sentence, in order
        if trimmed := _trimmed(text, span.start, span.end):
            out.append(trimmed)
    return tuple(out)


def _list_items(text: str) -> bool:
    """Whether pysbd would read some `x)` of the text as a list item (its own rule for digits)."""
    if _LETTER_ITEM.search(text):
        return True
    numbers = [int(n) for n in _NUMBER_ITEM.findall(text)]
    return any(b == a + 1 or {a, b} == {0, 9} for a, b in pairwise(numbers))


@lru_cache(maxsize=50_000)
def sentence_spans(text: str) -> tuple[Span, ...]:
    """Split `text` into sentences; each span's slice of `text` is the sentence, trimmed."""
    spans: list[Span] = []
    cursor = 0
    # A lone line break inside a paragraph is a soft wrap (as in Markdown), not a sentence
    # end; same-length replacement keeps every offset valid for the original text.
    source, text = text, _SOFT_BREAK.sub(lambda m: " " * len(m.group()), text)
    plain = _plain_spans(text)
    if plain is not None:
        return plain
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
