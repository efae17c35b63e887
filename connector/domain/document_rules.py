"""Whether a permit line is a document for the specimen declared (contract 5 and 5.1 (v2)).

The checks of one line against one item that look past species, term and quantity:

- the specimen's appendix is its taxon's for the item's country of origin (listings.py); a
  line stating another appendix is flagged (``APPENDIX_DIFFERS``) and the stricter applies;
- a certificate of origin is a document for Appendix III only (Art. V(3));
- a pre-Convention, captive-breeding or introduction-from-the-sea certificate covers only
  specimens of its source (O; C, F or A; X), and no line's source may be one its kingdom
  cannot have (source_rules.py); both give ``PERMIT_WRONG_TYPE``;
- at export, an ``EXPORT`` permit is for specimens of home origin: another origin needs a
  re-export certificate (``PERMIT_WRONG_TYPE``); a line's country of origin, when given, is the
  item's (``ORIGIN_MISMATCH``);
- at import, the item's quantity is within the quantity the exporting country's officer
  endorsed as exported (box 14, ``QUANTITY_EXCEEDS_EXPORTED``).

After the line is chosen, an Appendix I import (Art. VII(4): not for sources D and A) under
export permits or re-export certificates is checked for its purpose: commercial (``T``) is
refused, ``PURPOSE_NOT_ALLOWED`` (Art. III(3)(c)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import Reason, ReasonCode
from cites_connector.domain.declarations import Declaration, DeclarationItem, Flow
from cites_connector.domain.document_types import REPLACES_PERMITS, REQUIRED_SOURCES
from cites_connector.domain.listings import APPENDICES, UNKNOWN_ORIGIN, Listings, stricter
from cites_connector.domain.permits import Permit, PermitLine, PermitType
from cites_connector.domain.source_rules import source_problem
from cites_connector.domain.units import Quantity, format_decimal, unit_label

#: Art. VII(4): Appendix I specimens of these sources are deemed Appendix II
DEEMED_APPENDIX_II = frozenset({"D", "A"})
COMMERCIAL = "T"


class TaxonAppendix(Protocol):
    @property
    def appendix(self) -> str | None: ...


class SpecimenTaxonomy(Protocol):
    def lineage(self, name: str) -> tuple[str, ...] | None: ...

    def resolve(self, name: str) -> TaxonAppendix | None: ...


@dataclass(frozen=True)
class SpecimenAppendix:
    #: as the permit line states it
    stated: str | None
    #: the listing of the specimen's population (or the taxonomy's), None if unknown
    listed: str | None
    #: the appendix that applies: the stricter of the two
    applies: str | None
    #: after Art. VII(4): Appendix I of source D or A counts as Appendix II
    treated_as: str | None

    @property
    def differs(self) -> bool:
        return self.stated is not None and self.listed is not None and self.stated != self.listed


class SpecimenRules:
    """The line checks of this module for one item of one declaration."""

    def __init__(
        self,
        declaration: Declaration,
        item: DeclarationItem,
        policy: DecisionPolicy,
        taxonomy: SpecimenTaxonomy,
        listings: Listings,
    ):
        self.declaration, self.item, self.policy = declaration, item, policy
        self.taxonomy, self.listings = taxonomy, listings
        self._appendices: dict[tuple[str, str | None, str | None, str | None], SpecimenAppendix]
        self._appendices = {}

    def origin(self, line: PermitLine) -> str | None:
        """The specimen's country of origin: the item's, else the line's."""
        return self.item.origin_country or line.origin_country

    def appendix(self, line: PermitLine) -> SpecimenAppendix:
        stated = (line.appendix or "").strip().upper() or None
        key = (line.taxon, stated, self.origin(line), line.source)
        if key not in self._appendices:
            listed = self.listings.appendix_for(
                line.taxon, self.origin(line), self.declaration.date, self.taxonomy
            ) or self._taxonomy_appendix(line.taxon)
            applies = stricter(stated, listed) if stated and listed else (stated or listed)
            deemed = applies == "I" and line.source in DEEMED_APPENDIX_II
            self._appendices[key] = SpecimenAppendix(
                stated, listed, applies, "II" if deemed else applies
            )
        return self._appendices[key]

    def _taxonomy_appendix(self, taxon: str) -> str | None:
        """The appendix the taxonomy records for the taxon or its nearest listed ancestor;
        None when that is no single appendix (``I/II``, ``NC``) or nothing is recorded."""
        for name in self.taxonomy.lineage(taxon) or ():
            found = self.taxonomy.resolve(name)
            recorded = found.appendix if found is not None else None
            if recorded:
                return recorded if recorded in APPENDICES else None
        return None

    def line_reasons(
        self, permit: Permit, line: PermitLine, declared: Quantity | None, already: Decimal
    ) -> list[Reason]:
        where = f"permit {permit.permit_number} line {line.line}"
        reasons = [*self._document_fits(permit, line, where), *self._origin(permit, line, where)]
        exported = line.exported_quantity
        if (
            self.declaration.flow is Flow.IMPORT
            and exported is not None
            and declared is not None
            and declared.amount + already > exported
        ):
            taken = f" ({format_decimal(already)} by earlier items)" if already else ""
            reasons.append(
                Reason(
                    ReasonCode.QUANTITY_EXCEEDS_EXPORTED,
                    f"item declares {declared}{taken}; the exporting country endorsed "
                    f"{format_decimal(exported)} {unit_label(line.unit)} as exported on {where} "
                    f"(box 14)",
                )
            )
        appendix = self.appendix(line)
        if appendix.differs:
            reasons.append(
                Reason(
                    ReasonCode.APPENDIX_DIFFERS,
                    f"{where} states Appendix {appendix.stated} for {line.taxon}; specimens of "
                    f"origin {self.origin(line) or 'unknown'} are listed in Appendix "
                    f"{appendix.listed}: Appendix {appendix.applies} applies",
                )
            )
        return reasons

    def _document_fits(self, permit: Permit, line: PermitLine, where: str) -> list[Reason]:
        problems = []
        kingdom = source_problem(line.source, line.taxon, self.taxonomy)
        if kingdom is not None:
            problems.append(f"{where}: {kingdom}")
        sources = REQUIRED_SOURCES.get(permit.type)
        if sources is not None and line.source not in sources:
            problems.append(
                f"{where} is of source {line.source or 'none'}; a {permit.type.value} "
                f"certificate covers specimens of source {', '.join(sorted(sources))} only"
            )
        if permit.type is PermitType.CERTIFICATE_OF_ORIGIN:
            applies = self.appendix(line).applies
            if applies != "III":
                shown = f"Appendix {applies}" if applies else "of no known appendix"
                problems.append(
                    f"{where}: a certificate of origin is a document for Appendix III only "
                    f"(Art. V(3)); {line.taxon} of origin {self.origin(line) or 'unknown'} is "
                    f"{shown}"
                )
        origin = self.origin(line)
        home = self.policy.home_country
        if (
            self.declaration.flow is Flow.EXPORT
            and permit.type is PermitType.EXPORT
            and origin not in (None, UNKNOWN_ORIGIN, home)
        ):
            problems.append(
                f"the specimens of item {self.item.number} are of origin {origin}: an export "
                f"permit is for specimens of {home} origin; they leave on a re-export "
                f"certificate ({permit.permit_number} is an export permit)"
            )
        return [Reason(ReasonCode.PERMIT_WRONG_TYPE, p) for p in problems]

    def _origin(self, permit: Permit, line: PermitLine, where: str) -> list[Reason]:
        stated, declared = line.origin_country, self.item.origin_country
        if not stated or not declared or UNKNOWN_ORIGIN in (stated, declared):
            return []
        if stated == declared:
            return []
        return [
            Reason(
                ReasonCode.ORIGIN_MISMATCH,
                f"{where} is for specimens of origin {stated}; item {self.item.number} "
                f"declares origin {declared}",
            )
        ]

    # -- after the line is chosen -------------------------------------------------------------

    def needs_import_permit(self, permit: Permit, line: PermitLine) -> bool:
        """Appendix I import (Art. III(3)) under the exporting country's permit; documents
        that replace the permits (Art. VII) need none, nor sources D and A (Art. VII(4))."""
        return (
            self.declaration.flow is Flow.IMPORT
            and permit.type not in REPLACES_PERMITS
            and self.appendix(line).treated_as == "I"
        )

    def purpose_reasons(self, line: PermitLine, permits: Iterable[Permit]) -> list[Reason]:
        """Art. III(3)(c): no Appendix I import for primarily commercial purposes; the
        purpose is the one the cited permits state."""
        commercial = [p.permit_number for p in permits if p.purpose == COMMERCIAL]
        if not commercial:
            return []
        return [
            Reason(
                ReasonCode.PURPOSE_NOT_ALLOWED,
                f"{line.taxon} of origin {self.origin(line) or 'unknown'} is in Appendix I and "
                f"of source {line.source or 'unknown'}: it may not be imported for commercial "
                f"purposes (Art. III(3)(c)), and permit {', '.join(commercial)} states purpose T",
            )
        ]
