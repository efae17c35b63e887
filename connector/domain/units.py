"""CITES units and exact quantity conversion.

CITES permits count specimens when a line has no unit (CITES Guidelines for the preparation
of annual reports, units list); customs declarations carry UN/ECE Recommendation 20 codes as
supplementary units. Conversion is exact decimal arithmetic: a permit quantity must never be
rounded in the trader's favour.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import Enum


class Dimension(str, Enum):
    COUNT = "count"
    MASS = "mass"
    VOLUME = "volume"
    LENGTH = "length"
    AREA = "area"
    PAIRS = "pairs"
    SETS = "sets"
    BOXES = "boxes"
    BOTTLES = "bottles"


#: CITES unit code -> (dimension, factor to the dimension's base unit).
#: ``None`` is the CITES convention for "number of specimens"; PCS compares with it.
CITES_UNITS: dict[str | None, tuple[Dimension, Decimal]] = {
    None: (Dimension.COUNT, Decimal(1)),
    "PCS": (Dimension.COUNT, Decimal(1)),
    "KIL": (Dimension.MASS, Decimal(1)),
    "GRM": (Dimension.MASS, Decimal("0.001")),
    "MGM": (Dimension.MASS, Decimal("0.000001")),
    "TON": (Dimension.MASS, Decimal(1000)),
    "CUM": (Dimension.VOLUME, Decimal(1)),
    "CCM": (Dimension.VOLUME, Decimal("0.000001")),
    "LTR": (Dimension.VOLUME, Decimal("0.001")),
    "MLT": (Dimension.VOLUME, Decimal("0.000001")),
    "MTR": (Dimension.LENGTH, Decimal(1)),
    "CTM": (Dimension.LENGTH, Decimal("0.01")),
    "SQM": (Dimension.AREA, Decimal(1)),
    "SQC": (Dimension.AREA, Decimal("0.0001")),
    "PAI": (Dimension.PAIRS, Decimal(1)),
    "SET": (Dimension.SETS, Decimal(1)),
    "BOX": (Dimension.BOXES, Decimal(1)),
    "BOT": (Dimension.BOTTLES, Decimal(1)),
}


class UnknownUnit(ValueError):
    """A unit code that is not a CITES unit."""


def normalise_unit(code: str | None) -> str | None:
    """Return the canonical CITES unit code; ``None`` (and ``""``) mean number of specimens."""
    if code is None:
        return None
    code = code.strip().upper()
    if code in ("", "NO", "NAR", "NMB"):
        return None
    if code not in CITES_UNITS:
        raise UnknownUnit(f"unknown CITES unit {code!r}")
    return code


def dimension_of(unit: str | None) -> Dimension:
    return CITES_UNITS[normalise_unit(unit)][0]


def unit_label(unit: str | None) -> str:
    """How a unit is shown to people: CITES' empty unit reads as 'specimens'."""
    return unit if unit is not None else "specimens"


@dataclass(frozen=True)
class Quantity:
    """An exact amount in a CITES unit (``unit=None``: number of specimens)."""

    amount: Decimal
    unit: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", normalise_unit(self.unit))
        # callers outside the type check (JSON, a REPL) may hand in an int or a str
        amount: object = self.amount
        if not isinstance(amount, Decimal):
            object.__setattr__(self, "amount", Decimal(str(amount)))

    @property
    def dimension(self) -> Dimension:
        return dimension_of(self.unit)

    def compatible_with(self, unit: str | None) -> bool:
        return self.dimension is dimension_of(unit)

    def to(self, unit: str | None) -> Quantity:
        """Convert exactly to ``unit``; raises ``ValueError`` across dimensions."""
        target = normalise_unit(unit)
        if not self.compatible_with(target):
            raise ValueError(f"cannot convert {unit_label(self.unit)} to {unit_label(target)}")
        src_factor = CITES_UNITS[self.unit][1]
        dst_factor = CITES_UNITS[target][1]
        return Quantity(canonical(self.amount * src_factor / dst_factor), target)

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)} {unit_label(self.unit)}"


#: The ledger keeps quantities exactly to this many decimal places of the line's unit
#: (a millionth of a kilogram is a milligram). Declared amounts finer than that are rounded
#: up, never in the trader's favour.
LEDGER_PLACES = 6
LEDGER_QUANTUM = Decimal(1).scaleb(-LEDGER_PLACES)


def to_ledger_precision(amount: Decimal) -> Decimal:
    return canonical(amount.quantize(LEDGER_QUANTUM, rounding=ROUND_CEILING))


def canonical(amount: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (40.0 -> 40, 1E+1 -> 10)."""
    normalised = amount.normalize()
    if normalised == normalised.to_integral():
        return normalised.quantize(Decimal(1))
    return normalised


def format_decimal(amount: Decimal) -> str:
    """The wire form of a quantity: plain decimal notation, no exponent, no trailing zeros."""
    return format(canonical(amount), "f")
