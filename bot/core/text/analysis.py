"""Text analysis shared by indexing and querying: one function turns text into BM25 terms."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

import Stemmer

from bot.core.text.lexicon import canonical_form, compound_number
from bot.core.text.stopwords import ENGLISH_STOPWORDS

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
    # Only non-ASCII characters can be marks: test those alone, not every letter (a generator
    # over each character was ~half of a non-ASCII passage's analysis).
    text = _NON_ASCII.sub(_drop_marks, text)
    # Regex substitutions of the few folded characters, not str.translate with a table,
    # which looks up every character of a non-ASCII text in a dict (same result, ~10x faster).
    text = _PUNCTUATION_FOLD.sub(_fold_punctuation, _INVISIBLE.sub("", text)).casefold()
    text = _LETTER_FOLD.sub(_fold_letter, text)
    decomposed = unicodedata.normalize("NFKD", text)
    return _NON_ASCII.sub(_drop_combining, decomposed)


# One character, not runs: sre scans a single-character set much faster than a repeat of it.
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_PUNCTUATION_FOLD = re.compile("[" + re.escape("".join(map(chr, _PUNCTUATION_FOLDS))) + "]")
_LETTER_FOLD = re.compile("[" + re.escape("".join(map(chr, _LETTER_FOLDS))) + "]")


def _fold_punctuation(match: re.Match[str]) -> str:
    return _PUNCTUATION_FOLDS[ord(match.group())]


def _fold_letter(match: re.Match[str]) -> str:
    return _LETTER_FOLDS[ord(match.group())]


def _drop_marks(match: re.Match[str]) -> str:
    char = match.group()
    return "" if unicodedata.category(char) in _MARKS else char


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


class _TermsOfWords(dict[str, tuple[str, ...]]):
    """Each matched word's terms (what `analyze` does to it), computed once per word.

    A dict hit costs ~2/3 of an lru_cache hit, on ~60 words a passage; emptied when full.
    """

    def __missing__(self, word: str) -> tuple[str, ...]:
        if len(self) >= _WORD_CACHE_SIZE:
            self.clear()
        self[word] = terms = tuple(_stem(w) for w in _split_word(word) if is_content_word(w))
        return terms


_WORD_CACHE_SIZE = 500_000
_word_terms = _TermsOfWords().__getitem__


# Dotted acronyms, folded to their letters: "U.S." → "us", "N.A.T.O." → "nato".
_DOTTED = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){2,}")
# A run of two or more capitalised words ("United States", "Countering America's Adversaries
# Through Sanctions Act"), possibly joined by lower-case connectors ("Bank of America").
# The first capital is matched before the lookbehind (same test, one character later): a
# pattern led by a character set is scanned for fast, ~2.5x faster than lookbehind-first.
_CAPITALISED_RUN = re.compile(
    r"[A-Z](?<![^\W_][A-Z])[^\W_]*(?:['’][^\W_]+)?"
    r"(?: (?:(?:of|and|for|the|on|in|at|to|de) )*[A-Z][^\W_]*(?:['’][^\W_]+)?)+"
)


# Every dotted acronym contains ".x." (two letters at least): a literal-led search finds
# that in ~1 µs, where _DOTTED's lookbehind is tried at every position (~15 µs a passage).
_DOTTED_HINT = re.compile(r"\.[^\W\d_]\.")


def _fold_dotted(text: str) -> str:
    if _DOTTED_HINT.search(text) is None:
        return text
    return _DOTTED.sub(lambda m: m.group().replace(".", ""), text)


def acronyms(text: str) -> list[str]:
    """The initials of each run of capitalised words, as terms ("United States" → `us`).

    Lets a question's acronym (US, NATO, CAATSA) find the spelled-out name; a leading
    capitalised stopword ("The United States") is left out too.
    """
    runs = map(_run_initials, _CAPITALISED_RUN.findall(text))
    return [term for term in runs if term is not None]


@lru_cache(maxsize=200_000)
def _run_initials(run: str) -> str | None:
    """The term of one capitalised run's initials, or None; computed once per run (names recur)."""
    caps = [w for w in run.split(" ") if w[0].isupper()]
    if normalize(caps[0]) in ENGLISH_STOPWORDS:
        caps = caps[1:]
    if len(caps) >= 2:
        initials = normalize("".join(w[0] for w in caps))
        if is_content_word(initials):
            return _stem(initials)
    return None


def analyze(text: str, names: bool = True) -> list[str]:
    """Turn text into BM25 terms: normalized, stopwords dropped, Snowball-stemmed.

    With `names` (passages), the initials of capitalised names follow as extra terms (see
    `acronyms`); questions are analyzed without, so "Peyton Manning" does not ask for `pm`.
    """
    # Same as [_stem(w) for w in words(text) if is_content_word(w)], word by cached word.
    terms = list(
        chain.from_iterable(map(_word_terms, _WORD.findall(_fold_dotted(normalize(text)))))
    )
    if names and _HAS_UPPER.search(text):
        terms += acronyms(text)
    return terms


def term_words(text: str) -> dict[str, str]:
    """Each term of `text` with the word it came from, to show users words, not stems."""
    out: dict[str, str] = {}
    for w in words(text):
        if is_content_word(w):
            out.setdefault(_stem(w), w)
    return out
