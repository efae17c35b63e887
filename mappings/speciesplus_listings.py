"""Species+ ``cites_listings`` -> population listings (the rows of ``listings.csv``; no I/O).

Which appendix a specimen is in can depend on its country of origin (contract 5.1: split
listings such as *Loxodonta africana*, I except BW NA ZA ZW in II). Species+ has no country
array for this: the populations are named in the text of each listing's ``annotation``
(the recorded responses in tests/fixtures/speciesplus/real show it). This module reads them:

- "Only the population(s) of A, B and C", "The populations of A ... are included/listed",
  "Population of West Greenland" name the countries of that appendix (``countries``);
- "Except the populations of ...", "All populations except those of ..." mean all other
  populations (``countries`` empty); so does a listing that names no population.

Country names are resolved with ISO 3166 (pycountry: names, official and common names), the
names Species+ itself uses in ``distributions`` when they are given, and a few older names
(Swaziland). A listing naming a population that is not a country ("the population of Asia",
"Central and North America") cannot be written as a country list: the whole taxon is then
left unresolved and reported, never guessed. A region within a country ("West Greenland")
is kept as the country, the annotation saying the rest.

Only taxa with a listing scoped to populations become rows (every other taxon's appendix is
the ``cites_listing`` in the taxonomy), plus, for taxa that already have rows, their current
listings (so an import replaces what the bundled file said). Reservations (``party`` set,
``change_type`` other than ``+``) are not listings and are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pycountry

_INHERITED = re.compile(r"^\s*(\[[^\]]*\blisting\b[^\]]*\]\s*)+", re.IGNORECASE)
_LEADING_ONLY = re.compile(r"^(?:the\s+)?populations?\s+of\b\s*:?", re.IGNORECASE)
_ONLY = re.compile(r"\bonly\s+(?:for\s+)?(?:the\s+)?populations?\s+of\b\s*:?", re.IGNORECASE)
_EXCEPT = re.compile(r"\bexcept\b[^.;]*?\bpopulations?\b|\bexcept\s+those\s+of\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;.](?:\s|$)|\b(?:which|are|is|in\s+appendix)\b", re.IGNORECASE)
_DIRECTIONS = frozenset(
    {"west", "east", "north", "south", "western", "eastern", "northern", "southern", "central"}
)
_FILLER = frozenset({"the", "and", "of", "whole", "population", "populations", "semi-captive"})
#: names Species+ annotations use that ISO 3166 no longer has (or never had)
_OLD_NAMES = {
    "swaziland": "SZ",
    "burma": "MM",
    "czech republic": "CZ",
    "turkey": "TR",
    "russia": "RU",
    "vietnam": "VN",
    "iran": "IR",
    "laos": "LA",
    "syria": "SY",
    "the former yugoslav republic of macedonia": "MK",
    "democratic republic of the congo": "CD",
    "united republic of tanzania": "TZ",
    "republic of korea": "KR",
    "united states": "US",
}


@dataclass(frozen=True)
class ListingRow:
    """One row of listings.csv: a taxon's appendix for a set of countries (empty: the rest)."""

    taxon: str
    appendix: str
    countries: tuple[str, ...]
    annotation: str
    effective_from: str
    source: str


@dataclass
class ListingBatch:
    """The rows read from some pages, and what could not be read."""

    #: taxon name -> its rows (an empty list: Species+ lists it nowhere by population)
    rows: dict[str, list[ListingRow]] = field(default_factory=dict)
    #: taxon name -> the rows to write only if the taxon already has rows (not split)
    plain: dict[str, list[ListingRow]] = field(default_factory=dict)
    #: "taxon: why" for taxa whose populations could not be turned into countries
    unresolved: list[str] = field(default_factory=list)


def translate_listings(
    pages: Iterable[Mapping[str, Any]],
    source: str,
    extra_names: Mapping[str, str] | None = None,
) -> ListingBatch:
    """The population listings of the accepted concepts of checked pages (speciesplus_pages)."""
    names = _names(extra_names or {})
    batch = ListingBatch()
    for page in pages:
        for concept in page.get("taxon_concepts") or ():
            if concept.get("name_status") != "A" or concept.get("active") is False:
                continue
            _translate(concept, source, names, batch)
    return batch


def _translate(
    concept: Mapping[str, Any], source: str, names: Mapping[str, str], batch: ListingBatch
) -> None:
    taxon = " ".join(str(concept["full_name"]).split())
    rows: list[ListingRow] = []
    scoped = False
    for entry in concept.get("cites_listings") or ():
        if entry.get("party") is not None or entry.get("change_type", "+") != "+":
            continue
        annotation = " ".join(str(entry.get("annotation") or "").split())
        kind, countries = _scope(annotation, names)
        if kind == "unresolved":
            batch.unresolved.append(f"{taxon}: populations not named by country: {annotation}")
            return
        scoped = scoped or kind != "all"
        rows.append(
            ListingRow(
                taxon,
                str(entry["appendix"]),
                countries,
                annotation,
                str(entry["effective_at"])[:10],
                f"{source}; listing id {entry.get('id')} of taxon concept {concept['id']}",
            )
        )
    rows = _merge_rest(rows)
    problem = _conflict(rows)
    if problem and (scoped or len(rows) > 1):
        batch.unresolved.append(f"{taxon}: {problem}")
        return
    (batch.rows if scoped else batch.plain)[taxon] = rows


def _scope(annotation: str, names: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """("only", countries), ("except", ()), ("all", ()) or ("unresolved", ())."""
    text = _INHERITED.sub("", annotation)
    found = _LEADING_ONLY.match(text) or _ONLY.search(text)
    if found:
        countries = _countries(_clause(text[found.end() :]), names)
        return ("only", countries) if countries else ("unresolved", ())
    if _EXCEPT.search(text):
        return "except", ()
    return "all", ()


def _clause(text: str) -> str:
    """The list of populations: up to the end of the sentence, without bracketed notes."""
    kept, depth = [], 0
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            if _CLAUSE_END.match(text, position):
                break
            kept.append(char)
    return "".join(kept)


def _countries(clause: str, names: Mapping[str, str]) -> tuple[str, ...]:
    text = _fold(clause)
    found: list[str] = []

    def take(match: re.Match[str]) -> str:
        code = names[match.group(0)]
        if code not in found:
            found.append(code)
        return " , "

    rest = _pattern(tuple(names)).sub(take, text)
    for word in re.findall(r"[\w-]+", rest):
        if word not in _FILLER and word not in _DIRECTIONS:
            return ()  # a population named by something that is not a country
    return tuple(found)


def _merge_rest(rows: list[ListingRow]) -> list[ListingRow]:
    """One row for "all other populations" per appendix (an except-listing and a plain one)."""
    merged: list[ListingRow] = []
    for row in rows:
        twin = next(
            (
                m
                for m in merged
                if not m.countries and not row.countries and m.appendix == row.appendix
            ),
            None,
        )
        if twin is None:
            merged.append(row)
    return merged


def _conflict(rows: list[ListingRow]) -> str | None:
    rest = {row.appendix for row in rows if not row.countries}
    if len(rest) > 1:
        return f"all other populations in more than one appendix ({', '.join(sorted(rest))})"
    seen: dict[str, str] = {}
    for row in rows:
        for country in row.countries:
            if seen.setdefault(country, row.appendix) != row.appendix:
                return f"{country} in Appendix {seen[country]} and {row.appendix}"
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("’", "'").split())


@lru_cache(maxsize=8)
def _pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _names(extra: Mapping[str, str]) -> dict[str, str]:
    names = dict(_iso_names())
    for name, code in extra.items():
        names[_fold(name)] = code.upper()
    return names


@lru_cache(maxsize=1)
def _iso_names() -> dict[str, str]:
    names = dict(_OLD_NAMES)
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names[_fold(value)] = country.alpha_2
    return names
