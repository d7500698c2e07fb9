"""Places and their people's adjectives as terms that meet: *Turkish* ~ *Turkey*, *French* ~
*France*, *Dutch* ~ *Netherlands* ~ *Holland*.

The table is countryinfo's (MIT; 254 countries with their demonym and alternative spellings),
read from its data files on first use (~35 ms). Regular derived forms that share most of
their letters (*Armenia* ~ *Armenian*, *Azerbaijan* ~ *Azerbaijani*) are already met by the
engine's prefix expansion; the table adds the irregular ones the stemmer leaves apart.
Multi-word names (*United States* ~ *American*) are left out: a related term stands for one
question term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources

from bot.core.text.analysis import analyze

_SEPARATORS = re.compile(r",|/|\bor\b|\band\b")


def _countries() -> Iterator[dict]:
    folder = resources.files("countryinfo") / "data"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield json.loads(entry.read_text(encoding="utf-8"))


def _single_terms(names: list[str]) -> set[str]:
    out = set()
    for name in names:
        terms = analyze(name, names=False)
        if len(terms) == 1 and terms[0].isalpha() and terms[0].isascii() and len(terms[0]) >= 3:
            out.add(terms[0])
    return out


@cache
def demonym_links() -> dict[str, frozenset[str]]:
    """Each country or demonym term → the terms of the same country (both ways)."""
    countries: list[tuple[set[str], set[str], int]] = []
    for country in _countries():
        # Alternative single-word names (Holland, Turkiye), not codes (TR, TUR).
        alternatives = [str(a) for a in country.get("altSpellings", []) if not str(a).isupper()]
        names = _single_terms([str(country.get("name", "")), *alternatives])
        said = _SEPARATORS.split(str(country.get("demonym", "")))
        population = int(country.get("population") or 0)
        countries.append((names, _single_terms([d.strip() for d in said]), population))
    # A demonym several places share (*French*: France, Réunion, Martinique) stands for
    # the most populous of them.
    owner: dict[str, tuple[int, int]] = {}
    for i, (_, adjectives, population) in enumerate(countries):
        for d in adjectives:
            if d not in owner or population > owner[d][0]:
                owner[d] = (population, i)
    links: dict[str, set[str]] = {}
    for i, (places, adjectives, _) in enumerate(countries):
        group = places | {d for d in adjectives if owner[d][1] == i}
        for term in group:
            links.setdefault(term, set()).update(group - {term})
    return {term: frozenset(others) for term, others in links.items() if others}


@cache
def place_words() -> frozenset[str]:
    """Lower-case one-word country names and demonyms (*armenia*, *armenian*, *turkish*):
    written with a capital in English wherever they stand (multi-word names are left out:
    *united*, *north* are ordinary words too)."""
    out: set[str] = set()
    for country in _countries():
        alternatives = [str(a) for a in country.get("altSpellings", []) if not str(a).isupper()]
        said = _SEPARATORS.split(str(country.get("demonym", "")))
        for name in [str(country.get("name", "")), *alternatives, *said]:
            found = re.findall(r"[^\W\d_]+", name)
            if len(found) == 1 and len(found[0]) >= 3:
                out.add(found[0].casefold())
    return frozenset(out)
