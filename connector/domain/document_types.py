"""Which CITES document fits which flow, and who must have issued it (contract 5.1 (v2)).

| document | export | re-export | import |
|---|---|---|---|
| EXPORT | home | - | country of export |
| RE_EXPORT | home | home | country of export (the re-exporting State) |
| CERTIFICATE_OF_ORIGIN (App. III only) | home | - | country of export |
| PRE_CONVENTION (Art. VII(2), source O) | home | home | country of export |
| CAPTIVE_BREEDING (Art. VII(5), source C F A) | home | - | country of export |
| TRAVELLING_EXHIBITION, PERSONAL_OWNERSHIP | any issuer | any issuer | any issuer |
| INTRODUCTION_FROM_THE_SEA (source X) | - | - | home (the State of introduction) |

The home ``IMPORT`` permit is not in the table: it is checked beside the exporting country's
document for Appendix I imports (``IMPORT_PERMIT_REQUIRED``). Travelling-exhibition and
ownership certificates go with their holder across many borders, so they are accepted
whoever issued them, and their holder is the exporter at export and the importer at import.
"""

from __future__ import annotations

from enum import Enum

from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import PermitType


class Issuer(str, Enum):
    """Who must have issued a document for it to fit the flow."""

    HOME = "home"
    EXPORT_COUNTRY = "export country"
    ANY = "any"


T = PermitType
FITTING: dict[Flow, dict[PermitType, Issuer]] = {
    Flow.EXPORT: {
        T.EXPORT: Issuer.HOME,
        T.RE_EXPORT: Issuer.HOME,
        T.CERTIFICATE_OF_ORIGIN: Issuer.HOME,
        T.PRE_CONVENTION: Issuer.HOME,
        T.CAPTIVE_BREEDING: Issuer.HOME,
        T.TRAVELLING_EXHIBITION: Issuer.ANY,
        T.PERSONAL_OWNERSHIP: Issuer.ANY,
    },
    Flow.RE_EXPORT: {
        T.RE_EXPORT: Issuer.HOME,
        T.PRE_CONVENTION: Issuer.HOME,
        T.TRAVELLING_EXHIBITION: Issuer.ANY,
        T.PERSONAL_OWNERSHIP: Issuer.ANY,
    },
    Flow.IMPORT: {
        T.EXPORT: Issuer.EXPORT_COUNTRY,
        T.RE_EXPORT: Issuer.EXPORT_COUNTRY,
        T.CERTIFICATE_OF_ORIGIN: Issuer.EXPORT_COUNTRY,
        T.PRE_CONVENTION: Issuer.EXPORT_COUNTRY,
        T.CAPTIVE_BREEDING: Issuer.EXPORT_COUNTRY,
        T.TRAVELLING_EXHIBITION: Issuer.ANY,
        T.PERSONAL_OWNERSHIP: Issuer.ANY,
        T.INTRODUCTION_FROM_THE_SEA: Issuer.HOME,
    },
}

#: certificates used by their holder, many times, for up to three years
HELD_CERTIFICATES = frozenset({T.TRAVELLING_EXHIBITION, T.PERSONAL_OWNERSHIP})
#: documents that stand instead of the export and import permits (Art. VII): no Appendix I
#: import permit is needed beside them, and the purpose rule of Art. III(3)(c) is not theirs
REPLACES_PERMITS = frozenset(
    {
        T.PRE_CONVENTION,
        T.CAPTIVE_BREEDING,
        T.INTRODUCTION_FROM_THE_SEA,
        T.TRAVELLING_EXHIBITION,
        T.PERSONAL_OWNERSHIP,
    }
)
#: the sources a document is for: a line of another source is not a specimen it covers
REQUIRED_SOURCES: dict[PermitType, frozenset[str]] = {
    T.PRE_CONVENTION: frozenset({"O"}),
    T.CAPTIVE_BREEDING: frozenset({"C", "F", "A"}),
    T.INTRODUCTION_FROM_THE_SEA: frozenset({"X"}),
}


def issuer_for(flow: Flow, permit_type: PermitType) -> Issuer | None:
    """Who must issue ``permit_type`` for ``flow``; None when it does not fit the flow."""
    return FITTING.get(flow, {}).get(permit_type)


def fitting_types(flow: Flow) -> list[str]:
    """The names of the documents that fit a flow, for messages."""
    return sorted(t.value for t in FITTING.get(flow, {}))
