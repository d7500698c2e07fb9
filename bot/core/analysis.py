"""Text analysis shared by indexing and querying: one function turns text into BM25 terms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import chain

import Stemmer

from bot.core.lexicon import canonical_form, compound_number
from bot.core.stopwords import ENGLISH_STOPWORDS

# Typographic variants people paste from articles but never type.
_PUNCTUATION_FOLDS = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "﹣": "-",
        "－": "-",
    }
)
_ASCII_PUNCTUATION_FOLDS = [(chr(c), r) for c, r in _PUNCTUATION_FOLDS.items() if c < 128]
# Letters that Unicode does not decompose into base + accent but people type as ASCII.
_LETTER_FOLDS = str.maketrans(
    {"ı": "i", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "þ": "th", "æ": "ae", "œ": "oe"}
)
# Invisible characters that split or glue words without showing (zero-width, bidi marks).
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

# A word, or a hyphen/slash compound such as S-400, F-35, Lockheed-Martin, Artsakh/Nagorno.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*(?:[-/][^\W_]+(?:'[^\W_]+)*)*")
_HAS_DIGIT = re.compile(r"\d")
_HAS_UPPER = re.compile(r"[A-Z]")
_MARKS = frozenset({"Mn", "Me"})

_stemmer = Stemmer.Stemmer("english")


def normalize(text: str) -> str:
    """Fold text to the form both questions and passages are compared in."""
    if text.isascii():
        # Unicode normalisation and the accent strip leave ASCII unchanged, and a
        # str.translate with a dict is slow: replace the few ASCII folds directly (~10x faster).
        text = text.casefold()
        for char, replacement in _ASCII_PUNCTUATION_FOLDS:
            if char in text:
                text = text.replace(char, replacement)
        return text
    text = unicodedata.normalize("NFKC", text)
    # Marks left over after composition (zalgo, stray accents) go before casefold, which would
    # turn some into letters (U+0345 → ι); accents of real letters are folded below.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _MARKS)
    text = _INVISIBLE.sub("", text).translate(_PUNCTUATION_FOLDS).casefold()
    text = text.translate(_LETTER_FOLDS)
    decomposed = unicodedata.normalize("NFKD", text)
    # Only non-ASCII characters can be combining marks: test those alone, not every letter.
    return _NON_ASCII.sub(_drop_combining, decomposed)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _drop_combining(match: re.Match[str]) -> str:
    char = match.group()
    return "" if unicodedata.combining(char) else char


def _split_word(word: str) -> list[str]:
    """Split a compound into searchable pieces: `s-400` → `s400`, `400`; `well-known` → parts."""
    word = re.sub(r"'s$", "", word).replace("'", "")
    parts = [p for p in re.split(r"[-/]", word) if p]
    number = compound_number(parts)
    if number is not None:
        return [number]
    if len(parts) > 1 and _HAS_DIGIT.search(word):
        # Model numbers are typed as `S-400`, `S400` or `S 400`: index the glued form and the parts.
        return ["".join(parts), *parts]
    return parts


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(canonical_form(word))


def words(text: str) -> list[str]:
    """Normalized words of `text`, before stopword removal and stemming."""
    pieces: list[str] = []
    for match in _WORD.finditer(_fold_dotted(normalize(text))):
        pieces.extend(_split_word(match.group()))
    return pieces


def is_content_word(word: str) -> bool:
    """True for words that carry meaning for retrieval (not stopwords, not lone letters)."""
    if word in ENGLISH_STOPWORDS:
        return False
    return len(word) > 1 or word.isdigit()


@lru_cache(maxsize=500_000)
def _word_terms(word: str) -> tuple[str, ...]:
    """The terms of one matched word (what `analyze` does to it), computed once per word."""
    return tuple(_stem(w) for w in _split_word(word) if is_content_word(w))


# Dotted acronyms, folded to their letters: "U.S." → "us", "N.A.T.O." → "nato".
_DOTTED = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){2,}")
# A run of two or more capitalised words ("United States", "Countering America's Adversaries
# Through Sanctions Act"), possibly joined by lower-case connectors ("Bank of America").
_CAPITALISED_RUN = re.compile(
    r"(?<![^\W_])[A-Z][^\W_]*(?:['’][^\W_]+)?"
    r"(?: (?:(?:of|and|for|the|on|in|at|to|de) )*[A-Z][^\W_]*(?:['’][^\W_]+)?)+"
)


def _fold_dotted(text: str) -> str:
    return _DOTTED.sub(lambda m: m.group().replace(".", ""), text) if "." in text else text


def acronyms(text: str) -> list[str]:
    """The initials of each run of capitalised words, as terms ("United States" → `us`).

    Lets a question's acronym (US, NATO, CAATSA) find the spelled-out name; a leading
    capitalised stopword ("The United States") is left out too.
    """
    out: list[str] = []
    for m in _CAPITALISED_RUN.finditer(text):
        caps = [w for w in m.group().split(" ") if w[0].isupper()]
        if normalize(caps[0]) in ENGLISH_STOPWORDS:
            caps = caps[1:]
        if len(caps) >= 2:
            initials = normalize("".join(w[0] for w in caps))
            if is_content_word(initials):
                out.append(_stem(initials))
    return out


def analyze(text: str, names: bool = True) -> list[str]:
    """Turn text into BM25 terms: normalized, stopwords dropped, Snowball-stemmed.

    With `names` (passages), the initials of capitalised names follow as extra terms (see
    `acronyms`); questions are analyzed without, so "Peyton Manning" does not ask for `pm`.
    """
    # Same as [_stem(w) for w in words(text) if is_content_word(w)], word by cached word.
    terms = list(
        chain.from_iterable(map(_word_terms, _WORD.findall(_fold_dotted(normalize(text)))))
    )
    return terms + acronyms(text) if names and _HAS_UPPER.search(text) else terms


def term_words(text: str) -> dict[str, str]:
    """Each term of `text` with the word it came from, to show users words, not stems."""
    out: dict[str, str] = {}
    for w in words(text):
        if is_content_word(w):
            out.setdefault(_stem(w), w)
    return out


def analyze_all(texts: Iterable[str]) -> list[list[str]]:
    """Analyze many texts (the indexing path)."""
    return [analyze(t) for t in texts]
