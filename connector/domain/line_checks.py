"""The checks of contract section 5 that concern one permit line against one item.

Species: the HS code only says an item *may* hold CITES specimens; the permit line names the
species, which must be the HS row's taxon or below it (docs/hs-tables.md).
A name the taxonomy does not know never matches silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from cites_connector.domain.decisions import Reason, ReasonCode
from cites_connector.domain.declarations import DeclarationItem
from cites_connector.domain.permits import ConsignmentPolicy, Permit, PermitLine
from cites_connector.domain.quantities import declared_quantity
from cites_connector.domain.units import Quantity, format_decimal, unit_label


class TaxonView(Protocol):
    @property
    def appendix(self) -> str | None: ...


class TaxonomyView(Protocol):
    def is_within(self, name: str, ancestor: str) -> bool | None: ...

    def lineage(self, name: str) -> tuple[str, ...] | None: ...

    def resolve(self, name: str) -> TaxonView | None: ...

    def __contains__(self, name: object) -> bool: ...


class RowView(Protocol):
    @property
    def taxon(self) -> str: ...

    @property
    def terms(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class LineResult:
    permit: Permit
    line: PermitLine
    reasons: tuple[Reason, ...]
    quantity: Quantity | None


def same_taxon_name(a: str, b: str) -> bool:
    """The same scientific name as written, but for case and spacing."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def species_and_term_reasons(
    line: PermitLine, permit: Permit, rows: Sequence[RowView], taxonomy: TaxonomyView, hs_code: str
) -> list[Reason]:
    matching = [
        r
        for r in rows
        if same_taxon_name(line.taxon, r.taxon) or taxonomy.is_within(line.taxon, r.taxon)
    ]
    # the messages are built only when there is one to give (every CITES item, issue 14)
    where = f"permit {permit.permit_number} line {line.line}"
    if not matching:
        taxa = ", ".join(dict.fromkeys(r.taxon for r in rows))
        if line.taxon not in taxonomy:
            message = (
                f"{where} names '{line.taxon}', a taxon unknown to the connector's "
                f"taxonomy, so it cannot be matched to HS {hs_code} ({taxa})"
            )
        else:
            message = f"{where} is for '{line.taxon}', which HS {hs_code} does not cover ({taxa})"
        return [Reason(ReasonCode.SPECIES_MISMATCH, message)]
    if all(r.terms for r in matching):
        allowed = set().union(*(r.terms for r in matching))
        if line.term not in allowed:
            given = f"term {line.term}" if line.term else "no term"
            return [
                Reason(
                    ReasonCode.TERM_MISMATCH,
                    f"{where} gives {given}; HS {hs_code} for {line.taxon} allows "
                    f"{', '.join(sorted(allowed))}",
                )
            ]
    return []


def quantity_reasons(
    item: DeclarationItem, permit: Permit, line: PermitLine, already_drawn: Decimal
) -> tuple[list[Reason], Quantity | None]:
    """Declared quantity, in the line's unit, against what remains after earlier items."""
    where = f"permit {permit.permit_number} line {line.line}"
    declared = declared_quantity(item, line.unit)
    if declared.quantity is None:
        code = ReasonCode.QUANTITY_MISSING if declared.missing else ReasonCode.UNIT_INCOMPATIBLE
        return [Reason(code, f"{where}: {declared.problem}")], None
    if permit.consignment_policy is ConsignmentPolicy.MULTIPLE and line.remaining <= 0:
        return [
            Reason(
                ReasonCode.PERMIT_USED_UP,
                f"{where} has been written off completely "
                f"({format_decimal(line.quantity)} {unit_label(line.unit)})",
            )
        ], declared.quantity
    available = line.remaining - already_drawn
    if declared.quantity.amount > available:
        detail = (
            f"; {format_decimal(already_drawn)} of it taken by earlier items of this declaration"
            if already_drawn
            else ""
        )
        return [
            Reason(
                ReasonCode.QUANTITY_EXCEEDED,
                f"item declares {declared.quantity}; {where} has "
                f"{format_decimal(line.remaining)} {unit_label(line.unit)} remaining"
                f"{detail}",
            )
        ], declared.quantity
    return [], declared.quantity


def check_line(
    item: DeclarationItem,
    permit: Permit,
    line: PermitLine,
    rows: Sequence[RowView],
    taxonomy: TaxonomyView,
    hs_code: str,
    already_drawn: Decimal,
) -> LineResult:
    reasons = species_and_term_reasons(line, permit, rows, taxonomy, hs_code)
    quantity_problems, quantity = quantity_reasons(item, permit, line, already_drawn)
    return LineResult(permit, line, tuple(reasons + quantity_problems), quantity)
