"""Follow-up questions: notice when a question leans on the previous turn, and what to borrow."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.text.analysis import analyze, is_content_word, words

# Words that point back to something said before ("he", "there", "that deal").
_ANAPHORA = frozenset(
    [
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "then",
        "such",
        "same",
        "former",
        "latter",
    ]
)
_LEADING_CONTINUATIONS = ("and ", "also ", "what about", "how about", "what else", "why", "so ")
# Capitalised words that begin sentences or questions carry no entity information.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)*")


def is_follow_up(question: str) -> bool:
    """True when the question refers back (pronouns, 'what about …') rather than stands alone."""
    lowered = " ".join(question.casefold().split())
    if lowered.startswith(_LEADING_CONTINUATIONS):
        return True
    return any(w in _ANAPHORA for w in words(question))


def names_in(text: str) -> list[str]:
    """Capitalised word runs that are not merely sentence-initial: a cheap entity finder."""
    return [m.group() for m in _NAME.finditer(text)]


def context_terms(question: str, answer_text: str) -> list[str]:
    """Terms a follow-up should borrow: the previous question's and the answer's named things."""
    terms = analyze(question, names=False)
    for name in names_in(answer_text):
        terms.extend(analyze(name, names=False))
    return list(dict.fromkeys(terms))  # first occurrence order, no repeats


# Words a turn uses only to point back at the conversation ("What is his *full name*?",
# "*Tell* me *more*", "*And* the *other* one?"): in a follow-up they are no key terms.
REFERRING_WORDS = frozenset(
    "full name names tell more else other another one ones detail details explain elaborate "
    "again exactly info information know anything something".split()
)
_PRONOUNS = {
    "he": "",
    "him": "",
    "she": "",
    "her": "'s",
    "his": "'s",
    "they": "",
    "them": "",
    "their": "'s",
    "its": "'s",
}
_WH = ("what", "when", "where", "why", "who", "whom", "whose", "which", "how")
_WHO_IS = re.compile(r"^\s*who\s+(?:is|was|are|were)\s+(.+?)\s*\??\s*$", re.IGNORECASE)
# A capitalised run anywhere, lower-case particles inside (Katharina von Bora).
_RUN = re.compile(
    r"\b[A-Z][\w’'\-]*"
    r"(?:\s+(?:(?:von|van|de|da|del|der|of|the|bin|al)\s+)?(?:[A-Z][\w’'\-]*|\d+\b))*"
)


def own_terms(question: str) -> list[str]:
    """A follow-up's terms without the words that only refer back."""
    kept = [w for w in words(question) if w not in REFERRING_WORDS]
    return analyze(" ".join(kept), names=False)


def subject_of(previous_question: str, previous_answer: str, person: bool = False) -> str | None:
    """What a pronoun in the next turn most likely means: the person or thing named by
    "Who is X?", else the first name the answer gives beyond the question's own words
    (for he/she, a name of two words or more first: "Denver linebacker *Von Miller*"),
    else the first name in the question."""
    m = _WHO_IS.match(previous_question)
    asked = set(analyze(previous_question, names=False))
    if m and all(w[:1].isupper() for w in m.group(1).split()):
        return m.group(1)
    question_names = [n for n in _runs(previous_question) if n.split()[0].casefold() not in _WH]
    if (
        previous_question.strip().casefold().startswith(("who", "whom", "whose"))
        or not question_names
    ):
        # Each name with the words after the last asked one ("Armenian Prime Minister Nikol
        # Pashinyan" → "Nikol Pashinyan"), when that adds something beyond the question.
        found = [(run, _beyond(run, asked)) for run in _runs(previous_answer)]
        found = [(run, rest) for run, rest in found if rest]
        if person:
            # A person's name: two words or more first ("Denver linebacker *Von Miller*"),
            # no date ("September 2004"), no fragment of an asked name ("ABC *Television*");
            # then the one nearest the words the question asked about, where the answer to
            # "who" stands ("… bacteriologist *Alexandre Yersin*, after whom the pathogen was
            # named Yersinia pestis").
            found = [
                (run, rest)
                for run, rest in found
                if not _MONTHS & {w.casefold() for w in run.split()}
                and (rest == run or len(rest.split()) >= 2)
            ]
            near = _nearness(previous_answer, asked)
            found.sort(key=lambda f: (len(f[1].split()) < 2, near(f[0])))
        if found:
            return found[0][1]
    return question_names[0] if question_names else None


_MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)


def _nearness(text: str, asked: set[str]) -> Callable[[str], int]:
    """How far (in characters) a name stands from the nearest word of `asked` in `text`."""
    spots = [m.start() for m in re.finditer(r"[\w’'\-]+", text) if _term(m.group()) in asked]

    def distance(name: str) -> int:
        at = text.find(name)
        if at < 0 or not spots:
            return len(text)
        end = at + len(name)
        return min(max(at - s, s - end, 0) for s in spots)

    return distance


def _beyond(name: str, asked: set[str]) -> str:
    """The words of a name after the last one the question asked about ("" if nothing new)."""
    ws = name.split()
    last = max((i for i, w in enumerate(ws) if _term(w) in asked), default=-1)
    rest = " ".join(ws[last + 1 :])
    if not rest or not analyze(name, names=False) or set(analyze(rest, names=False)) <= asked:
        return ""
    return rest


def _term(word: str) -> str:
    found = analyze(word, names=False)
    return found[0] if found else ""


def _runs(text: str) -> list[str]:
    out = []
    for m in _RUN.finditer(text):
        ws = m.group().split()
        # Capitalised only because they open a sentence: "Since", "Between", "The".
        while ws and (ws[0].casefold() in _COMMON or not is_content_word(ws[0].casefold())):
            ws = ws[1:]
        if ws:
            out.append(" ".join(ws))
    return out


_COMMON = frozenset(
    "the a an in on at of for and but or he she it they this these those there his her its "
    "their we our after before while when what where who which why how however also".split()
)


def resolve(question: str, previous_question: str, previous_answer: str) -> str | None:
    """The follow-up written out in full, or None when it stands alone.

    Pronouns become the previous turn's subject ("Where was he born?" → "Where was Martin
    Luther born?"); a turn with nothing of its own ("Why?", "Tell me more") becomes the
    previous question, asked with its own question word when it has one.
    """
    subject: str | None = None
    out = []
    changed = False
    for token in re.findall(r"\w+|\W+", question):
        lowered = token.casefold()
        if lowered in _PRONOUNS and not changed:  # the first one; the rest read as it
            if subject is None:
                person = lowered not in ("they", "them", "their", "its")
                subject = subject_of(previous_question, previous_answer, person) or ""
            if subject:
                out.append(subject + _PRONOUNS[lowered])
                changed = True
                continue
        out.append(token)
    if changed:
        return "".join(out)
    if not own_terms(question):
        asked = words(question)
        wh = next((w for w in asked if w in _WH), None)
        prev = previous_question.strip()
        first = prev.split(" ", 1)
        if wh and first and first[0].casefold() in _WH and len(first) > 1:
            return f"{wh.capitalize()} {first[1]}"
        return prev
    return None


def leans_on_context(question: str) -> bool:
    """A turn that refers back, or too short and nameless to stand alone ("What was the
    score?") in a conversation."""
    if is_follow_up(question):
        return True
    return len(own_terms(question)) <= 2 and not _runs(question.strip()[1:])


def in_context(question: str, previous_question: str) -> str:
    """What a follow-up that was not rewritten was read as: itself, after the previous
    question ("What was the score? (after: Who won Super Bowl 50?)")."""
    return f"{question.strip()} (after: {previous_question.strip()})"
