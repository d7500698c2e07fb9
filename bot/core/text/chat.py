"""Chat as people type it: Discord markup, emoji and filler words carry no question.

"yo can u tell me who won super bowl 50 pls 🙏" asks what "who won super bowl 50" asks.
Applied to questions only (passages are never chat).
"""

from __future__ import annotations

import re

# Custom emoji <:name:id>, mentions <@id> <@!id> <@&id> <#id>, @everyone/@here pings,
# timestamps <t:…>, links.
_MARKUP = re.compile(
    r"<a?:\w+:\d+>|<[@#][!&]?\d+>|(?<!\w)@(?:everyone|here)\b|<t:\d+(?::\w)?>|https?://\S+",
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


def plain_question(text: str) -> str:
    """The question without markup, filler words or a leading "can you tell me"."""
    text = _FORMATTING.sub("", _MARKUP.sub(" ", text))
    kept = [w for w in text.split() if w.strip(".,!?;:").casefold() not in FILLER]
    text = " ".join(kept)
    stripped = _REQUEST.sub("", text).strip()
    return stripped or text
