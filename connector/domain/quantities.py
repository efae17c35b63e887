"""Which declared quantity a permit line is compared with (contract section 5, Quantity).

A line with no unit (number of specimens) or PCS compares with the supplementary quantity; a
mass unit compares with the item's net mass in kilograms; volume, length and area units compare
with a supplementary quantity in a compatible unit. Conversion is exact.

A quantity of zero in what the line counts, or no quantity for it at all, is missing (contract 5
(v2), QUANTITY_MISSING): an item that writes nothing off would clear goods the permit never
endorsed. Every SAD item carries a net mass, so a line of specimens (or of a volume, a length)
whose item gives no supplementary quantity has none declared for it. A supplementary quantity
given only in a unit the line cannot count (kilograms for a line of specimens), or specimens for
a mass line without a net mass, is incompatible (UNIT_INCOMPATIBLE). Both hold the item: there
is nothing to write off.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cites_connector.domain.declarations import DeclarationItem
from cites_connector.domain.units import (
    Dimension,
    Quantity,
    UnknownUnit,
    dimension_of,
    to_ledger_precision,
    unit_label,
)


@dataclass(frozen=True)
class DeclaredQuantity:
    quantity: Quantity | None
    #: why no comparable quantity could be found (UNIT_INCOMPATIBLE or QUANTITY_MISSING message)
    problem: str | None = None
    #: True when the quantity is absent or zero rather than in an incompatible unit
    missing: bool = False


def _supplementary(item: DeclarationItem) -> Quantity | None:
    if item.supplementary_quantity is None:
        return None
    try:
        return Quantity(item.supplementary_quantity, item.supplementary_unit)
    except UnknownUnit:
        return None


def declared_quantity(item: DeclarationItem, line_unit: str | None) -> DeclaredQuantity:
    """The item's quantity in the permit line's unit, or why there is none."""
    wanted = dimension_of(line_unit)
    supplementary = _supplementary(item)
    candidates: list[Quantity] = []
    if wanted is Dimension.MASS and item.net_mass is not None:
        candidates.append(Quantity(item.net_mass, "KIL"))
    if supplementary is not None:
        candidates.append(supplementary)
    for candidate in candidates:
        if candidate.compatible_with(line_unit):
            converted = candidate.to(line_unit)
            amount = to_ledger_precision(converted.amount)
            if amount <= 0:
                return DeclaredQuantity(
                    None,
                    (
                        f"the item declares {candidate}; the permit line counts in "
                        f"{unit_label(line_unit)} and a quantity above zero must be declared to "
                        f"be written off"
                    ),
                    missing=True,
                )
            return DeclaredQuantity(Quantity(amount, converted.unit))
    if wanted is Dimension.MASS:
        need = "a net mass"
    elif wanted is Dimension.COUNT:
        need = "a number of specimens as supplementary quantity (NMB, NAR, C62, PCE)"
    else:
        need = f"a supplementary quantity in a {wanted.value} unit"
    if item.supplementary_quantity is None and (
        item.net_mass is None or wanted is not Dimension.MASS
    ):
        # the net mass every SAD item carries is no count, volume or length: an item without
        # the supplementary quantity such a line counts has declared none for it
        gives = "no quantity" if item.net_mass is None else "only a net mass"
        return DeclaredQuantity(
            None,
            (
                f"the permit line counts in {unit_label(line_unit)}; the declaration item needs "
                f"{need}, but gives {gives}"
            ),
            missing=True,
        )
    given = item.supplementary_unit_code or "an unknown unit"
    if supplementary is None:
        given = f"unknown supplementary unit {item.supplementary_unit_code!r}"
    return DeclaredQuantity(
        None,
        f"the permit line counts in {unit_label(line_unit)}; the declaration item needs {need}, "
        f"but gives {given}",
    )


#: the Rec. 20 code of the SAD's net mass, which ASYCUDA writes in kilograms
NET_MASS_UNIT = "KGM"


def as_declared(item: DeclarationItem, line_unit: str | None) -> tuple[Decimal, str | None] | None:
    """The SAD quantity a write-off in ``line_unit`` was converted from, with the SAD's own
    unit code (the endorsement's ``declared_quantity`` / ``declared_unit``, contract 3.2):
    the net mass (``KGM``) for a mass line, else the supplementary quantity and its code.
    Same choice as :func:`declared_quantity`; None when no quantity fits the line."""
    if dimension_of(line_unit) is Dimension.MASS and item.net_mass is not None:
        return item.net_mass, NET_MASS_UNIT
    supplementary = _supplementary(item)
    if supplementary is not None and supplementary.compatible_with(line_unit):
        return supplementary.amount, item.supplementary_unit_code
    return None
