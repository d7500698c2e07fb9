"""Follow-up questions: notice when a question leans on the previous turn, and what to borrow."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.text.analysis import analyze, is_content_word, words
from bot.core.text.demonyms import place_words

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
    "again exactly info information know anything something happen happened happens occur "
    "occurred next".split()
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
    "it": "",
    "its": "'s",
}
# "it" that stands for no thing: "Is it true …", "What does it mean that …" keep it.
_IMPERSONAL_IT = re.compile(
    r"\b(?:is|was|isn't|wasn't)\s+it\s+(?:true|possible|likely|known)\b", re.IGNORECASE
)
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


def subject_of(
    previous_question: str,
    previous_answer: str,
    person: bool = False,
    thing: bool = False,
    possessed: bool = False,
) -> str | None:
    """What a pronoun in the next turn most likely means: the person or thing named by
    "Who is X?", else the first name the answer gives beyond the question's own words
    (for he/she, a name of two words or more first: "Denver linebacker *Von Miller*"),
    else the first name in the question. `thing` ("it", "its"): the question's own name
    first, with what it owns for `possessed` ("it" after "Who proved *Bertrand's postulate*?";
    "its" after "What is *Fresno*'s population?")."""
    m = _WHO_IS.match(previous_question)
    asked = set(analyze(previous_question, names=False))
    if m and all(w[:1].isupper() for w in m.group(1).split()):
        return m.group(1)
    question_names = [n for n in _runs(previous_question) if n.split()[0].casefold() not in _WH]
    if thing and question_names:
        name = question_names[0]
        return _with_possessed(name, previous_question) if possessed else name
    if (
        previous_question.strip().casefold().startswith(("who", "whom", "whose"))
        or not question_names
    ):
        # Each name with the words after the last asked one ("Armenian Prime Minister Nikol
        # Pashinyan" → "Nikol Pashinyan"), when that adds something beyond the question.
        runs = _runs(previous_answer)
        found = [(run, _beyond(run, asked)) for run in runs]
        found = [(run, rest) for run, rest in found if rest]
        if person:
            # A country or its people is no "he" ("… re-uniting *China*"); a name sharing a
            # word with the question counts after the others ("*Kublai Khan*" after "Genghis
            # Khan's grandson").
            found = [(run, rest) for run, rest in found if not _is_place(rest)]
            sharing = [(run, run) for run in runs if _new_first(run, asked)]
            found += sharing
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
            found.sort(key=lambda f: (len(f[1].split()) < 2, f in sharing, near(f[0])))
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


def _new_first(name: str, asked: set[str]) -> bool:
    """A name of two words or more whose new words come before an asked one ("his grandson
    *Kublai Khan*" after "Genghis Khan's grandson")."""
    ws = name.split()
    if len(ws) < 2:
        return False
    last = max((i for i, w in enumerate(ws) if _term(w) in asked), default=-1)
    return last > 0 and not set(analyze(" ".join(ws[:last]), names=False)) <= asked


def _with_possessed(name: str, question: str) -> str:
    """A possessive name with the thing it owns ("*Bertrand's postulate*"): "it" is that."""
    if not re.search(r"(?:'|’)s$", name):
        return name
    m = re.search(re.escape(name) + r"\s+([a-z][\w\-]*)", question)
    if m is None or not is_content_word(m.group(1)):
        return name
    return f"{name} {m.group(1)}"


def _is_place(name: str) -> bool:
    """One word naming a country or its people (*China*, *Turkish*)."""
    return len(name.split()) == 1 and name.casefold() in place_words()


def _possessive_stripped(name: str) -> str:
    """ "Fresno's" → "Fresno": a subject taken from a possessive gets its own "'s" later."""
    return re.sub(r"(?:'|’)s?$", "", name)


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
    impersonal = bool(_IMPERSONAL_IT.search(question))
    for token in re.findall(r"\w+|\W+", question):
        lowered = token.casefold()
        if lowered == "it" and impersonal:
            out.append(token)
            continue
        if lowered in _PRONOUNS and not changed:  # the first one; the rest read as it
            if subject is None:
                person = lowered not in ("they", "them", "their", "it", "its")
                thing = lowered in ("it", "its")
                found = subject_of(
                    previous_question, previous_answer, person, thing, possessed=lowered == "it"
                )
                subject = _possessive_stripped(found or "")
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


# Words that ask for what the previous answer did not say ("Tell me more", "And the other one?").
_NEW_WORDS = frozenset("more else other another others".split())


def wants_something_new(question: str) -> bool:
    """A turn with nothing of its own that asks beyond the previous answer: its sentences
    should not be quoted again."""
    return bool(_NEW_WORDS & set(words(question))) and not own_terms(question)


def leans_on_context(question: str) -> bool:
    """A turn that refers back, or too short and nameless to stand alone ("What was the
    score?") in a conversation."""
    if is_follow_up(question):
        return True
    return len(own_terms(question)) <= 2 and not _runs(question.strip()[1:])


_AFTER = " (after: "


def in_context(question: str, previous_question: str) -> str:
    """What a follow-up that was not rewritten was read as: itself, after the previous
    question ("What was the score? (after: Who won Super Bowl 50?)")."""
    return f"{question.strip()}{_AFTER}{previous_question.strip()})"


def rewritten(resolved: str | None) -> str | None:
    """A turn's reading when it was written out in full (None: not a follow-up, or one only
    read in the previous turn's context)."""
    return resolved if resolved and _AFTER not in resolved else None
