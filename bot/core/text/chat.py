"""Chat as people type it: Discord markup, emoji and filler words carry no question.

"yo can u tell me who won super bowl 50 pls 🙏" asks what "who won super bowl 50" asks.
Applied to questions only (passages are never chat). Casing and the closing question mark
carry no question either: `model_question` is what the embedding model reads, `truecased`
what the cue readers (whose names, which person) read when a question was typed in lower case.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from bot.core.text.demonyms import place_words

# Custom emoji <:name:id>, mentions <@id> <@!id> <@&id> <#id>, @everyone/@here pings,
# timestamps <t:…>, links, emoji short codes (:thumbsup:).
_MARKUP = re.compile(
    r"<a?:\w+:\d+>|<[@#][!&]?\d+>|(?<!\w)@(?:everyone|here)\b|<t:\d+(?::\w)?>|https?://\S+"
    r"|(?<![\w:]):[a-z0-9_+\-]{2,}:(?![\w:])",
    re.IGNORECASE,
)
# Emphasis, code, spoiler and quote marks, kept as plain text.
_FORMATTING = re.compile(r"\*\*|__|~~|\|\||`+|^>+\s?", re.MULTILINE)
# Greetings, politeness and chat reactions around a question.
FILLER = frozenset(
    "yo hey hi hiya hello sup pls plz please thx thanks ty lol lmao haha omg bro dude ya "
    "yeah ok okay anyone guys".split()
)
# "can you tell me …", "do you know …": a request for the question that follows.
_REQUEST = re.compile(
    r"^\s*(?:(?:can|could|would|will)\s+(?:you|u|ya)\s+(?:pls\s+|please\s+)?"
    r"(?:tell|show)\s+me|do\s+(?:you|u)\s+know|i\s+(?:want|wanna|need)\s+to\s+know)\b",
    re.IGNORECASE,
)
# "??", "?!", "!!!": one mark says as much.
_REPEATED_MARKS = re.compile(r"([?!])[?!]+")
_CLOSING_MARKS = re.compile(r"[\s?!.]+$")


def _pictograph(ch: str) -> bool:
    """Emoji and other pictographs, their skin-tone and variation modifiers, joiners."""
    category = unicodedata.category(ch)
    return category == "So" or ch in "\u200d\ufe0e\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def plain_question(text: str) -> str:
    """The question without markup, emoji, filler words or a leading "can you tell me"."""
    text = _FORMATTING.sub("", _MARKUP.sub(" ", text))
    text = "".join(" " if _pictograph(ch) else ch for ch in text)
    text = _REPEATED_MARKS.sub(r"\1", text)
    kept = [w for w in text.split() if w.strip(".,!?;:").casefold() not in FILLER]
    text = " ".join(kept)
    stripped = _REQUEST.sub("", text).strip()
    return stripped or text


def model_question(text: str) -> str:
    """The question as the embedding model reads it: one closing question mark, typed or not
    (the model is uncased, but "played" and "played?" are different inputs to it)."""
    return _CLOSING_MARKS.sub("", text) + "?"


# Words without their possessive ("smith's" is "smith" to look up).
_WORD = re.compile(r"[^\W\d_][\w\-]*")


def typed_in_lower_case(text: str) -> bool:
    """No capital after the first letter: the user did not mark names ("who is armenias pm")."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and not any(ch.isupper() for ch in letters[1:])


def truecased(question: str, texts: Iterable[str]) -> str:
    """A question typed in lower case, its words capitalised as `texts` (the passages it is
    answered from) write them mid-sentence: "who is the turkish president" → "who is the
    Turkish president", "google earth" → "Google Earth" where the passages name it so though
    they write "earth" too. A question with capitals of its own is the user's and is kept."""
    if not typed_in_lower_case(question):
        return question
    texts = list(texts)
    typed = [m.group().casefold() for m in _WORD.finditer(question)]
    wanted = set(typed)
    forms: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    places = place_words()
    for text in texts:
        for m in _WORD.finditer(text):
            word = m.group()
            key = word.casefold()
            if key not in wanted:
                continue
            if not word[0].isupper():
                lower[key] += 1
            elif _mid_sentence(text, m.start()) and (
                key in places or not _before_capital(text, m.end())
            ):
                # Not evidence: a sentence's first word (capitalised whatever it is), nor a
                # title before a name ("Prime Minister Nikol Pashinyan"), unless it is a
                # country or its people's word ("Armenian Prime Minister"); pairs are below.
                forms[word] += 1
    best: dict[str, tuple[int, str]] = {}
    for form, n in forms.items():
        key = form.casefold()
        # A name is nearly always capitalised; a title ("King", "President") only before names.
        if n > 2 * lower[key] and n > best.get(key, (0, ""))[0]:
            best[key] = (n, form)
    cased = {key: form for key, (_, form) in best.items()}
    for pair in set(pairwise(typed)):
        cased.update(_named_pair(pair, texts))

    def recase(m: re.Match[str]) -> str:
        return cased.get(m.group().casefold(), m.group())

    return _WORD.sub(recase, question)


def _mid_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return bool(before) and before[-1] not in '.!?"“'


_NEXT_WORD = re.compile(r"\s*(\S)")


def _before_capital(text: str, end: int) -> bool:
    m = _NEXT_WORD.match(text, end)
    return m is not None and m.group(1).isupper()


def _named_pair(pair: tuple[str, str], texts: list[str]) -> dict[str, str]:
    """Both words' capitalised forms when the passages mostly write the two together as a
    name ("Google Earth"), else nothing."""
    phrase = re.compile(rf"\b{re.escape(pair[0])}\s+{re.escape(pair[1])}\b", re.IGNORECASE)
    named: Counter[tuple[str, str]] = Counter()
    other = 0
    for text in texts:
        for m in phrase.finditer(text):
            first, second = m.group().split()
            if first[0].isupper() and second[0].isupper():
                named[(first, second)] += 1
            else:
                other += 1
    if not named:
        return {}
    (first, second), n = named.most_common(1)[0]
    return {pair[0]: first, pair[1]: second} if n > other else {}
