"""Question cues: what a question asks for (a number, a time, a name; its focus words; whose
head noun) and whether a sentence offers it."""

from __future__ import annotations

import re

from bot.core.text.analysis import analyze, is_content_word, normalize, words

_YEAR_OR_DATE = re.compile(
    r"\b(1\d{3}|20\d{2})s?\b|\b(january|february|march|april|may|june|july|august|september|"
    r"october|november|december|century|centuries|decade|today|yesterday|week|month|year)s?\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|several|many)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-zA-Z’'\-]+")


def expected_kind(question: str) -> str | None:
    """What sort of thing the question asks for, from its wording."""
    ws = words(question)
    joined = " ".join(ws)
    if re.search(
        r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|number)\b", joined
    ):
        return "number"
    if re.search(
        r"\bwhen\b|\bwhat (year|date|day|month|time|century|decade)\b|\bwhich year\b", joined
    ):
        return "time"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", joined):
        return "name"
    if re.search(r"\bwhere\b", joined):
        return "name"
    return None


def satisfies(kind: str | None, sentence: str, question_terms: set[str]) -> bool:
    """The sentence holds the kind of thing asked for (a name not already in the question)."""
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "time":
        return bool(_YEAR_OR_DATE.search(sentence))
    if kind == "name":
        return any(
            not set(analyze(m.group())) <= question_terms for m in _PROPER.finditer(sentence)
        )
    return False


_WH_HEAD = frozenset({"what", "which", "whose"})


def focus_terms(question: str, limit: int = 2) -> set[str]:
    """The words naming what is asked for: `missile system` in "What missile system …?"."""
    ws = words(question)
    for i, w in enumerate(ws):
        if w in _WH_HEAD:
            found: list[str] = []
            for nxt in ws[i + 1 : i + 1 + limit]:
                if not is_content_word(nxt):
                    break
                found.extend(analyze(nxt, names=False))
            if found:
                return set(found)
    return set()


_ARTICLES = frozenset({"the", "a", "an"})
_ASKS_WHO = re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"([^\W_]+)(?:'s|s')\s+([^\W_]+)(?:\s+([^\W_]+))?")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def asks_who(question: str) -> bool:
    """The question asks for a person (who, whom, whose)."""
    return bool(_ASKS_WHO.search(question))


def qualified_heads(question: str) -> tuple[set[str], set[str]]:
    """What the question asks about and whose: (`prime`, `minist`) and `turkey` in "the prime
    minister of Turkey" or "Turkey's prime minister"; empty sets when it has no such phrase."""
    ws = words(question)
    heads: set[str] = set()
    modifiers: set[str] = set()
    for i, w in enumerate(ws[1:-1], start=1):
        if w != "of" or not is_content_word(ws[i - 1]):
            continue
        j = i + 1
        while j < len(ws) and ws[j] in _ARTICLES:
            j += 1
        if j < len(ws) and is_content_word(ws[j]):
            modifiers.update(analyze(ws[j], names=False))
            for k in (i - 1, i - 2):
                if k >= 0 and is_content_word(ws[k]):
                    heads.update(analyze(ws[k], names=False))
                else:
                    break
    for m in _POSSESSIVE.finditer(normalize(question)):
        owner, *after = m.groups()
        if is_content_word(owner) and is_content_word(after[0]):
            modifiers.update(analyze(owner, names=False))
            heads.update(t for a in after if a and is_content_word(a) for t in analyze(a, False))
    return heads - modifiers, modifiers


def names_another(
    sentence: str, heads: set[str], modifiers: set[str], aliases: dict[str, str]
) -> bool:
    """The sentence qualifies the asked-about head with another name ("*Armenian* Prime
    Minister" for "the prime minister of Turkey") and never with the question's own."""

    def terms_of(token: str) -> set[str]:
        return {aliases.get(t, t) for t in analyze(token, names=False)}

    tokens = [m.group() for m in _TOKEN.finditer(sentence)]
    other = own = False
    k = 0
    while k < len(tokens):
        if not terms_of(tokens[k]) & heads:
            k += 1
            continue
        end = k
        while end + 1 < len(tokens) and terms_of(tokens[end + 1]) & heads:
            end += 1
        qualifiers = []
        if k > 0 and tokens[k - 1][0].isupper():
            qualifiers.append(tokens[k - 1])
        j = end + 1
        if j < len(tokens) and tokens[j] == "of":
            j += 1
            while j < len(tokens) and tokens[j].casefold() in _ARTICLES:
                j += 1
            if j < len(tokens) and tokens[j][0].isupper():
                qualifiers.append(tokens[j])
        for q in qualifiers:
            found = terms_of(q)
            if found & modifiers:
                own = True
            elif found:
                other = True
        k = end + 1
    return other and not own


# A name in a question: a capitalised run after its first word ("Lockheed Martin", "CNN Türk").
_QUESTION_NAME = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+[A-Z0-9][\w’'\-]*)*")


def named_and_asked(question: str, terms: set[str]) -> tuple[set[str], set[str]]:
    """The question's terms split into those of the names it mentions and the rest (what it
    asks about them): (`coldplay`), (`lead`, `singer`) in "Who is the lead singer of Coldplay?"."""
    parts = question.strip().split(maxsplit=1)
    named: set[str] = set()
    for m in _QUESTION_NAME.finditer(parts[1] if len(parts) > 1 else ""):
        named.update(analyze(m.group(), names=False))
    named &= terms
    return named, terms - named
