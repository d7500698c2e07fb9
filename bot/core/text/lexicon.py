"""Word forms a stemmer cannot join: irregular verbs, British spellings, number words."""

from __future__ import annotations

import re

# base: past tense and past participle forms (both sides of the index map them to the base).
_IRREGULAR = """
arise arose arisen|awake awoke awoken|be was were been|bear bore borne born|beat beaten|
become became|begin began begun|bend bent|bet|bid|bind bound|bite bit bitten|bleed bled|
blow blew blown|break broke broken|breed bred|bring brought|build built|burn burnt|
burst|buy bought|catch caught|choose chose chosen|come came|cost|creep crept|cut|deal dealt|
dig dug|do did done|draw drew drawn|dream dreamt|drink drank drunk|drive drove driven|
eat ate eaten|fall fell fallen|feed fed|feel felt|fight fought|find found|flee fled|
fly flew flown|forbid forbade forbidden|forget forgot forgotten|forgive forgave forgiven|
freeze froze frozen|get got gotten|give gave given|go went gone|grind ground|grow grew grown|
hang hung|have had|hear heard|hide hid hidden|hit|hold held|hurt|keep kept|kneel knelt|
know knew known|lay laid|lead led|lean leant|leap leapt|learn learnt|leave left|lend lent|
let|lie lay lain|light lit|lose lost|make made|mean meant|meet met|overcome overcame|
pay paid|prove proven|put|quit|read|rid|ride rode ridden|ring rang rung|rise rose risen|
run ran|say said|see saw seen|seek sought|sell sold|send sent|set|shake shook shaken|
shed|shine shone|shoot shot|show shown|shrink shrank shrunk|shut|sing sang sung|
sink sank sunk|sit sat|slay slew slain|sleep slept|slide slid|speak spoke spoken|
speed sped|spend spent|spin spun|split|spread|spring sprang sprung|stand stood|
steal stole stolen|stick stuck|sting stung|strike struck|strive strove striven|
swear swore sworn|sweep swept|swim swam swum|swing swung|take took taken|teach taught|
tear tore torn|tell told|think thought|throw threw thrown|tread trod trodden|
understand understood|undertake undertook undertaken|wake woke woken|wear wore worn|
weave wove woven|weep wept|win won|wind wound|withdraw withdrew withdrawn|
withhold withheld|write wrote written|overthrow overthrew overthrown|
undergo underwent undergone|foresee foresaw foreseen|mislead misled|oversee oversaw overseen|
outdo outdid outdone|rebuild rebuilt|retell retold|uphold upheld|withstand withstood
"""

IRREGULAR_FORMS: dict[str, str] = {}
for _group in _IRREGULAR.replace("\n", "").split("|"):
    _base, *_forms = _group.split()
    for _form in _forms:
        IRREGULAR_FORMS.setdefault(_form, _base)
# Ambiguous forms that are more often nouns or other words than verb forms.
for _noun in ("found", "ground", "left", "lay", "saw", "wound", "lit", "bound", "fell", "rose"):
    IRREGULAR_FORMS.pop(_noun, None)

_BRITISH = [
    (re.compile(r"^(defen|offen|licen|preten)ce(s?)$"), r"\1se\2"),
    (re.compile(r"^(\w{3,})our(s|ed|ing|ite|ites|able|ably|er|ers|ful)?$"), r"\1or\2"),
    (re.compile(r"^(\w{3,}[^aeiou])is(e|es|ed|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    (re.compile(r"^(\w{2,})ys(e|es|ed|ing)$"), r"\1yz\2"),
    (re.compile(r"^(cent|met|lit|theat|fib|somb|spect|calib|sab)re(s|d)?$"), r"\1er\2"),
    (re.compile(r"^(\w+)ogue(s?)$"), r"\1og\2"),
]
# Words the British-spelling rules would otherwise bend ("hour" is not "hor").
_KEEP = frozenset(
    [
        "hour",
        "hours",
        "four",
        "tour",
        "tours",
        "pour",
        "pours",
        "sour",
        "your",
        "flour",
        "our",
        "ours",
        "devour",
        "detour",
        "rise",
        "rises",
        "raise",
        "raises",
        "wise",
        "otherwise",
        "advise",
        "advised",
        "advises",
        "exercise",
        "exercised",
        "enterprise",
        "surprise",
        "surprised",
        "premise",
        "promise",
        "promised",
        "compromise",
        "expertise",
        "franchise",
        "franchises",
        "merchandise",
        "televise",
        "televised",
        "revise",
        "revised",
        "supervise",
        "supervised",
        "improvise",
        "paradise",
        "precise",
        "concise",
        "noise",
        "praise",
        "praised",
        "cruise",
        "disguise",
        "chemise",
        "poise",
        "treatise",
        "excise",
        "incise",
    ]
)


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen \
fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_UNIT_ORDINALS = "zeroth first second third fourth fifth sixth seventh eighth ninth tenth \
eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth \
nineteenth".split()
_TEN_ORDINALS = (
    "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()
)
_AMBIGUOUS = frozenset({"one", "first", "second"})
# Number words → digits ("ten" ~ "10"), ordinals → digits + "th" ("tenth" ~ "10th"),
# kept apart so that "third series" does not match "three episodes". "one", "first" and
# "second" stay words: they are as often a pronoun, "at first" or the unit of time.
NUMBER_WORDS: dict[str, str] = {
    **{w: str(n) for n, w in enumerate(_UNITS) if w not in _AMBIGUOUS},
    **{w: str(20 + 10 * n) for n, w in enumerate(_TENS)},
    **{w: f"{n}th" for n, w in enumerate(_UNIT_ORDINALS) if w not in _AMBIGUOUS},
    **{w: f"{20 + 10 * n}th" for n, w in enumerate(_TEN_ORDINALS)},
}
_TENS_WORDS = frozenset(_TENS)
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DECADE = re.compile(r"^(\d+0)s$")  # 1960s (1960's loses its 's before this)


def number_value(word: str) -> str | None:
    """Digits for a number word, ordinal or decade ("ten" → "10", "tenth" → "10th")."""
    value = NUMBER_WORDS.get(word)
    if value is not None:
        return value
    m = _ORDINAL.match(word)
    if m:
        n = m.group(1)
        return {"1": "first", "2": "second"}.get(n, f"{n}th")  # as those two stay words
    m = _DECADE.match(word)
    return m.group(1) if m else None


_ALL_UNITS = {w: n for n, w in enumerate(_UNITS) if 0 < n < 10}
_ALL_UNIT_ORDINALS = {w: n for n, w in enumerate(_UNIT_ORDINALS) if 0 < n < 10}


def compound_number(parts: list[str]) -> str | None:
    """Digits for a hyphenated number ("twenty-five" → "25", "twenty-fifth" → "25th")."""
    if len(parts) != 2 or parts[0] not in _TENS_WORDS:
        return None
    tens = int(NUMBER_WORDS[parts[0]])
    if parts[1] in _ALL_UNITS:
        return str(tens + _ALL_UNITS[parts[1]])
    if parts[1] in _ALL_UNIT_ORDINALS:
        return f"{tens + _ALL_UNIT_ORDINALS[parts[1]]}th"
    return None


def canonical_form(word: str) -> str:
    """Map an irregular verb form to its base and a British spelling to the American one.

    Number words, ordinals and decades become digits.
    """
    number = number_value(word)
    if number is not None:
        return number
    base = IRREGULAR_FORMS.get(word)
    if base is not None:
        return base
    if len(word) < 5 or word in _KEEP:
        return word
    for pattern, replacement in _BRITISH:
        if pattern.match(word):
            return pattern.sub(replacement, word)
    return word
