"""Source codes (box 12b of the CITES form) that a specimen of a kingdom can have.

CITES source codes describe how a specimen came to be: ``A`` (artificially propagated) exists
only for plants, ``C`` (bred in captivity) and ``R`` (ranched) only for animals (Res. Conf.
12.3 (Rev. CoP19), Annex 5). A permit line whose source does not fit its taxon's kingdom is a
document no Management Authority should have issued: the permit is refused when it comes in
(a mapping error, dead-lettered, by JSON and ePermit alike, since both reach the permit
service), and a permit already held is the wrong document for the specimen
(``PERMIT_WRONG_TYPE``) at the border.

A taxon the taxonomy does not know has no known kingdom: its source is not judged here (the
line cannot match an HS row anyway, ``SPECIES_MISMATCH``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: every CITES source code (Y, assisted production, since Res. Conf. 12.3 (Rev. CoP19))
SOURCE_CODES = frozenset("WRDACFUIOXY")
#: the sources a kingdom cannot have, by the kingdom's name as Species+ writes it
INVALID_SOURCES = {
    "animalia": frozenset({"A"}),
    "plantae": frozenset({"C", "R"}),
}
_MEANING = {"A": "artificially propagated", "C": "bred in captivity", "R": "ranched"}
_KINGDOM_WORD = {"animalia": "an animal", "plantae": "a plant"}


class LineageView(Protocol):
    def lineage(self, name: str) -> tuple[str, ...] | None: ...


class LineView(Protocol):
    @property
    def line(self) -> str: ...

    @property
    def taxon(self) -> str: ...

    @property
    def source(self) -> str | None: ...


def kingdom_of(taxon: str, taxonomy: LineageView) -> str | None:
    """``animalia`` or ``plantae`` (lower case) for a known taxon, else None."""
    lineage = taxonomy.lineage(taxon)
    if not lineage:
        return None
    top = lineage[-1].casefold()
    return top if top in INVALID_SOURCES else None


def source_problem(source: str | None, taxon: str, taxonomy: LineageView) -> str | None:
    """Why ``source`` cannot be the source of a specimen of ``taxon``, or None if it can."""
    if not source:
        return None
    kingdom = kingdom_of(taxon, taxonomy)
    if kingdom is None or source not in INVALID_SOURCES[kingdom]:
        return None
    return (
        f"source {source} ({_MEANING[source]}) is not a source of {_KINGDOM_WORD[kingdom]} "
        f"such as {taxon} (Res. Conf. 12.3, Annex 5)"
    )


def permit_source_problems(lines: Sequence[LineView], taxonomy: LineageView) -> list[str]:
    """Every line whose source its taxon's kingdom cannot have, by JSON path (``lines[0]``,
    from 0, as the permit JSON's problems are named) and letter."""
    problems = []
    for index, line in enumerate(lines):
        problem = source_problem(line.source, line.taxon, taxonomy)
        if problem is not None:
            problems.append(f"lines[{index}].source (line {line.line}): {problem}")
    return problems
