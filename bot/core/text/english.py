"""Which words are ordinary English: symspellpy's frequency dictionary (82,765 words from
Google Books n-grams, MIT), read once on first use (~40 ms)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def english_words() -> frozenset[str]:
    """Lower-case English words."""
    path = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    text = path.read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


def is_english(word: str) -> bool:
    return word.casefold() in english_words()
