"""Trade suspensions and national export quotas (contract 5.1, v2): the two tables besides the
permits that can stop a consignment whose permit is in order.

- A **suspension** is a CITES recommendation (a Standing Committee decision under Art. XIII or
  the Review of Significant Trade, Res. Conf. 12.8) or a Party's stricter domestic measure,
  published by Species+ as ``cites_suspensions``: it names the Party whose trade is suspended
  (``country``), the direction (exports *from* it, or imports *into* it: Species+
  ``applies_to_import``), optionally the taxon (none = every CITES taxon), sources and
  purposes, and the CITES notification that announced it.
- An **export quota** is the home country's own limit on what it exports of a taxon in a
  calendar year (Res. Conf. 14.7), optionally of one term (tusks) and in one unit (none =
  specimens). ``used`` is what the year's clearances wrote off against it.

Plain data: the checks are in trade_checks.py, storage behind services/trade_ports.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import Enum

from cites_connector.domain import limits
from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.units import UnknownUnit, format_decimal, normalise_unit, unit_label

#: CITES source codes (Res. Conf. 12.3) and purpose codes: what a suspension may list
SOURCE_CODES = frozenset("WRDACFUIOXY")
PURPOSE_CODES = frozenset("BEGHLMNPQSTZ")
#: what a quota may hold: the ledger stores millionths in a 64-bit integer
MAX_QUOTA = Decimal(10) ** 12


class TradeFlow(str, Enum):
    """Which trade of ``country`` a suspension concerns."""

    #: exports (and re-exports) from the country: Species+ ``applies_to_import`` false
    EXPORT = "EXPORT"
    #: re-exports from the country only
    RE_EXPORT = "RE_EXPORT"
    #: imports into the country: Species+ ``applies_to_import`` true
    IMPORT = "IMPORT"
    #: all trade with the country, either way
    ALL = "ALL"


def country_code(value: str, what: str = "country") -> str:
    code = (value or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidInput(f"{what} {value!r} is not an ISO 3166-1 alpha-2 code")
    return code


def codes(values: object, allowed: frozenset[str], what: str) -> frozenset[str]:
    """Source or purpose codes, upper-cased; an unknown one is refused, not ignored."""
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    if not isinstance(values, list | tuple | set | frozenset):
        raise InvalidInput(f"{what} must be a list of codes")
    found = set()
    for value in values:
        code = str(value).strip().upper()
        if code not in allowed:
            raise InvalidInput(f"{what} {value!r} is not a CITES code ({''.join(sorted(allowed))})")
        found.add(code)
    return frozenset(found)


@dataclass(frozen=True)
class Suspension:
    country: str
    #: None: every CITES taxon of the country's trade (Species+ ``taxon_concept_id`` null)
    taxon: str | None
    flow: TradeFlow
    starts_on: date
    #: the CITES notification, e.g. ``CITES Notif. No. 2018/018``: named in every hold
    reference: str
    #: last day in force; None = until withdrawn
    ends_on: date | None = None
    #: empty = any source / any purpose
    sources: frozenset[str] = frozenset()
    purposes: frozenset[str] = frozenset()
    notes: str | None = None
    #: where it came from: ``speciesplus:<id>`` or ``manual``
    origin: str = "manual"
    #: the stored row's number (None until stored)
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "country", country_code(self.country))
        # a flow from a file or a case table may come as text ("export", "EXPORT")
        flow: object = self.flow
        if not isinstance(flow, TradeFlow):
            try:
                object.__setattr__(self, "flow", TradeFlow(str(flow).strip().upper()))
            except ValueError as exc:
                raise InvalidInput(
                    f"flow {flow!r} is not EXPORT, RE_EXPORT, IMPORT or ALL"
                ) from exc
        object.__setattr__(self, "sources", codes(self.sources, SOURCE_CODES, "source"))
        object.__setattr__(self, "purposes", codes(self.purposes, PURPOSE_CODES, "purpose"))
        if not self.reference or not self.reference.strip():
            raise InvalidInput("a suspension needs its notification reference")
        if len(self.reference) > limits.NOTIFICATION:
            # a value the table cannot hold is the caller's error, not a database error
            raise InvalidInput(
                f"a notification reference has at most {limits.NOTIFICATION} characters"
            )
        if self.taxon is not None and not self.taxon.strip():
            object.__setattr__(self, "taxon", None)
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise InvalidInput(
                f"suspension {self.reference}: ends {self.ends_on} before it starts "
                f"{self.starts_on}"
            )

    def in_force(self, day: date) -> bool:
        """In force from ``starts_on`` to ``ends_on``, both days included."""
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)

    def describe(self) -> str:
        taxon = self.taxon or "all CITES taxa"
        way = {
            TradeFlow.EXPORT: f"exports from {self.country}",
            TradeFlow.RE_EXPORT: f"re-exports from {self.country}",
            TradeFlow.IMPORT: f"imports into {self.country}",
            TradeFlow.ALL: f"all trade with {self.country}",
        }[self.flow]
        limits = []
        if self.sources:
            limits.append("source " + "/".join(sorted(self.sources)))
        if self.purposes:
            limits.append("purpose " + "/".join(sorted(self.purposes)))
        scope = f" ({', '.join(limits)})" if limits else ""
        return f"{way} of {taxon}{scope}, suspended since {self.starts_on} ({self.reference})"


@dataclass(frozen=True)
class ExportQuota:
    country: str
    taxon: str
    year: int
    quantity: Decimal
    #: None = number of specimens
    unit: str | None = None
    #: None = any term
    term: str | None = None
    #: written off against the quota this year (state, like a permit line's remaining)
    used: Decimal = Decimal(0)
    notes: str | None = None
    origin: str = "manual"
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "country", country_code(self.country))
        try:
            object.__setattr__(self, "unit", normalise_unit(self.unit))
        except UnknownUnit as exc:
            raise InvalidInput(f"quota unit: {exc}") from exc
        for name in ("quantity", "used"):
            value: object = getattr(self, name)
            if not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))
        if not self.quantity.is_finite() or not 0 <= self.quantity <= MAX_QUOTA:
            raise InvalidInput(f"quota quantity {self.quantity} must be from 0 to {MAX_QUOTA}")
        if self.quantity != self.quantity.quantize(Decimal("0.000001"), rounding=ROUND_DOWN):
            raise InvalidInput(f"quota quantity {self.quantity} has more than 6 decimal places")
        if not 1900 <= self.year <= 2999:
            raise InvalidInput(f"quota year {self.year} is not a calendar year")
        if not self.taxon or not self.taxon.strip():
            raise InvalidInput("a quota names its taxon")
        if self.term is not None:
            object.__setattr__(self, "term", self.term.strip().upper() or None)
        if self.term is not None and not (
            len(self.term) <= limits.TERM_CODE and self.term.isascii() and self.term.isalnum()
        ):
            raise InvalidInput(f"quota term {self.term!r} is not a CITES term code (TUS, LIV...)")

    @property
    def key(self) -> tuple[str, str, int, str | None]:
        """One quota per country, taxon, year and term: setting it again replaces it."""
        return (self.country, " ".join(self.taxon.split()).casefold(), self.year, self.term)

    @property
    def left(self) -> Decimal:
        return self.quantity - self.used

    def describe(self) -> str:
        term = f" {self.term}" if self.term else ""
        return (
            f"{self.country} {self.year} export quota for {self.taxon}{term}: "
            f"{format_decimal(self.quantity)} {unit_label(self.unit)}"
        )


@dataclass(frozen=True)
class TradeControls:
    """What a decision sees of both tables: the suspensions, and the quotas with what they
    have used, as the deciding transaction read them (quotas locked)."""

    suspensions: tuple[Suspension, ...] = ()
    quotas: tuple[ExportQuota, ...] = ()
