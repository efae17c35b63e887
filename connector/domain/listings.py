"""The CITES Appendix of a specimen, by the population it comes from (contract 5.1 (v2)).

One species may sit in different Appendices by population ("split listings"): *Loxodonta
africana* is Appendix II for the populations of BW, NA, ZA and ZW and Appendix I elsewhere. So
the appendix of a specimen is that of its taxon **for its country of origin**, on the
declaration date. The listings come from the taxonomy data (``hs_codes/taxonomy/listings.csv``,
refreshed from Species+ ``cites_legislation``): one row per (taxon, appendix, countries) with
the date it took effect; an empty country list stands for all other populations.

How a listing is chosen, nearest taxon first:

- the permit line's taxon, then each higher taxon of its lineage (a genus or family listing
  applies to the species below it; a species' own listing wins over its genus');
- among that taxon's listings in force on the date (``effective_from`` on or before it): the
  latest one naming the country of origin, else the latest one for all other populations;
  a taxon whose rows name only other countries passes the question to its parent;
- an origin that is unknown (absent, or ``XX`` as CITES trade data writes it) cannot claim a
  population's lenient listing: the strictest appendix of the populations then applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from cites_connector.domain.taxonomy import name_key

APPENDICES = ("I", "II", "III")
#: Appendix I is the strictest (trade generally prohibited), III the least strict
_STRICTNESS = {"I": 3, "II": 2, "III": 1}
#: CITES trade data's code for an unknown country of origin
UNKNOWN_ORIGIN = "XX"


def stricter(a: str, b: str) -> str:
    """The stricter of two appendices (contract 5.1: when two differ, the stricter applies)."""
    return a if _STRICTNESS.get(a, 0) >= _STRICTNESS.get(b, 0) else b


class LineageView(Protocol):
    def lineage(self, name: str) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class Listing:
    """One row of listings.csv: ``taxon`` is in ``appendix`` for the populations of
    ``countries`` (empty: every population not named in another row) from ``effective_from``."""

    taxon: str
    appendix: str
    countries: frozenset[str]
    effective_from: date
    annotation: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.appendix not in APPENDICES:
            raise ValueError(f"{self.taxon}: appendix {self.appendix!r} is not I, II or III")
        if name_key(self.taxon) is None:
            raise ValueError(f"not a scientific name: {self.taxon!r}")
        bad = sorted(c for c in self.countries if len(c) != 2 or not c.isalpha() or not c.isupper())
        if bad:
            raise ValueError(f"{self.taxon}: {', '.join(bad)} are not ISO 3166-1 alpha-2 codes")


class Listings:
    """Every listing known, asked by taxon, country of origin and date."""

    def __init__(self, listings: Iterable[Listing] = ()):
        self._listings = tuple(listings)
        #: the index for one taxonomy (names resolved through its synonyms), kept with it
        self._indexed: tuple[LineageView, dict[str, list[Listing]]] | None = None
        self._answers: dict[tuple[str, str | None, date], str | None] = {}

    def __len__(self) -> int:
        return len(self._listings)

    def __iter__(self) -> Iterator[Listing]:
        return iter(self._listings)

    def _index(self, taxonomy: LineageView) -> dict[str, list[Listing]]:
        if self._indexed is None or self._indexed[0] is not taxonomy:
            index: dict[str, list[Listing]] = {}
            for listing in self._listings:
                lineage = taxonomy.lineage(listing.taxon)
                key = name_key(lineage[0] if lineage else listing.taxon)
                if key is not None:
                    index.setdefault(key, []).append(listing)
            self._indexed = (taxonomy, index)
            self._answers = {}
        return self._indexed[1]

    def appendix_for(
        self, taxon: str, origin_country: str | None, on: date, taxonomy: LineageView
    ) -> str | None:
        """The appendix of ``taxon`` for specimens of ``origin_country`` on the date ``on``;
        None when no listing of the taxon or a higher taxon is known for that population."""
        index = self._index(taxonomy)
        origin = origin_country if origin_country and origin_country != UNKNOWN_ORIGIN else None
        question = (taxon, origin, on)
        if question not in self._answers:
            if len(self._answers) > 65536:
                self._answers.clear()
            self._answers[question] = self._find(index, taxon, origin, on, taxonomy)
        return self._answers[question]

    @staticmethod
    def _find(
        index: dict[str, list[Listing]],
        taxon: str,
        origin: str | None,
        on: date,
        taxonomy: LineageView,
    ) -> str | None:
        for name in taxonomy.lineage(taxon) or (taxon,):
            key = name_key(name)
            rows = [r for r in index.get(key or "", ()) if r.effective_from <= on]
            found = _for_population(rows, origin) if rows else None
            if found is not None:
                return found
        return None


def _latest(rows: Sequence[Listing]) -> Listing | None:
    return max(rows, key=lambda r: r.effective_from, default=None)


def _for_population(rows: Sequence[Listing], origin: str | None) -> str | None:
    if origin is not None:
        chosen = _latest([r for r in rows if origin in r.countries]) or _latest(
            [r for r in rows if not r.countries]
        )
        return chosen.appendix if chosen else None
    # unknown origin: every population's current listing, the strictest of them
    populations = {country for r in rows for country in r.countries}
    current = [_latest([r for r in rows if c in r.countries]) for c in sorted(populations)]
    current.append(_latest([r for r in rows if not r.countries]))
    appendices = [r.appendix for r in current if r is not None]
    if not appendices:
        return None
    strictest = appendices[0]
    for appendix in appendices[1:]:
        strictest = stricter(strictest, appendix)
    return strictest
