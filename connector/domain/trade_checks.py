"""TRADE_SUSPENDED and QUOTA_EXCEEDED (contract 5 and 5.1, v2): checked on the permit line each
item was matched to, after the item decisions, because both look past the permit.

Suspensions: a suspension names the Party whose trade is suspended and the direction. The
trade of a declaration has two sides: the exporting Party (the home country for an export or
re-export, the country of export for an import, re-exporting when the document is a re-export
certificate) and the importing Party (the destination, or the home country). A suspension of
exports from X holds a consignment X exports or re-exports, wherever it is declared; one of
imports into X holds a consignment X imports. It applies when it is in force on the
declaration date (first and last day included), the line's taxon is its taxon or below it
(synonyms resolved; no taxon = every CITES taxon), and the line's source and the permit's
purpose are among those it lists (none listed = any). A line or permit that states no source or
purpose cannot show it is outside a suspension that lists them, so it is held.

Quotas: for a home-country export, each quota of the declaration year whose taxon contains
the line's taxon (and whose term is the line's, when the quota has one) counts the item's
declared quantity, converted exactly to the quota's unit; the year's write-offs plus this
declaration's may reach the quota, not pass it. Earlier items of the same declaration count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import (
    ItemDecision,
    ItemStatus,
    QuotaCharge,
    Reason,
    ReasonCode,
    Severity,
)
from cites_connector.domain.declarations import Declaration, DeclarationItem, Flow
from cites_connector.domain.line_checks import TaxonomyView, same_taxon_name
from cites_connector.domain.permits import Permit, PermitLine, PermitType
from cites_connector.domain.quantities import declared_quantity
from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeControls, TradeFlow
from cites_connector.domain.units import format_decimal, unit_label

PermitFinder = Callable[[str], Sequence[Permit]]
#: (country, role): role is "export", "re-export" or "import"
Side = tuple[str, str]
_COVERS: dict[TradeFlow, frozenset[str]] = {
    TradeFlow.EXPORT: frozenset({"export", "re-export"}),
    TradeFlow.RE_EXPORT: frozenset({"re-export"}),
    TradeFlow.IMPORT: frozenset({"import"}),
    TradeFlow.ALL: frozenset({"export", "re-export", "import"}),
}


def trade_sides(declaration: Declaration, permit: Permit, home: str) -> list[Side]:
    """The Parties of the consignment and what each does in it."""
    flow = declaration.flow
    sides: list[Side] = []
    if flow in (Flow.EXPORT, Flow.RE_EXPORT):
        sides.append((home, "re-export" if flow is Flow.RE_EXPORT else "export"))
        if declaration.destination_country:
            sides.append((declaration.destination_country.upper(), "import"))
    elif flow is Flow.IMPORT:
        exporter = (declaration.export_country or permit.issuing_country).upper()
        sides.append((exporter, "re-export" if permit.type is PermitType.RE_EXPORT else "export"))
        sides.append((home, "import"))
    return sides


def within(taxonomy: TaxonomyView, name: str, ancestor: str | None) -> bool:
    if ancestor is None:
        return True
    return same_taxon_name(name, ancestor) or taxonomy.is_within(name, ancestor) is True


def suspension_applies(
    suspension: Suspension,
    declaration: Declaration,
    permit: Permit,
    line: PermitLine,
    taxonomy: TaxonomyView,
    home: str,
) -> bool:
    if not suspension.in_force(declaration.date):
        return False
    sides = trade_sides(declaration, permit, home)
    covered = _COVERS[suspension.flow]
    if not any(c == suspension.country and role in covered for c, role in sides):
        return False
    if suspension.sources and line.source and line.source.upper() not in suspension.sources:
        return False
    if suspension.purposes and permit.purpose and permit.purpose.upper() not in suspension.purposes:
        return False
    return within(taxonomy, line.taxon, suspension.taxon)


def suspension_reasons(
    controls: TradeControls,
    declaration: Declaration,
    permit: Permit,
    line: PermitLine,
    taxonomy: TaxonomyView,
    home: str,
) -> list[Reason]:
    where = f"permit {permit.permit_number} line {line.line} ({line.taxon})"
    return [
        Reason(ReasonCode.TRADE_SUSPENDED, f"{where}: {s.describe()}")
        for s in controls.suspensions
        if suspension_applies(s, declaration, permit, line, taxonomy, home)
    ]


def quota_applies(
    quota: ExportQuota,
    declaration: Declaration,
    line: PermitLine,
    taxonomy: TaxonomyView,
    home: str,
) -> bool:
    return (
        declaration.flow is Flow.EXPORT
        and quota.country == home
        and quota.year == declaration.date.year
        and (quota.term is None or (line.term or "").upper() == quota.term)
        and within(taxonomy, line.taxon, quota.taxon)
    )


class QuotaTally:
    """What the items of one declaration count against each quota, in order."""

    def __init__(self, quotas: Sequence[ExportQuota]):
        self.quotas = list(quotas)
        self.taken = [Decimal(0)] * len(self.quotas)
        self.charges: list[QuotaCharge] = []

    def check(
        self,
        item: DeclarationItem,
        declaration: Declaration,
        line: PermitLine,
        taxonomy: TaxonomyView,
        home: str,
    ) -> tuple[list[Reason], list[tuple[int, QuotaCharge]]]:
        reasons: list[Reason] = []
        planned: list[tuple[int, QuotaCharge]] = []
        for index, quota in enumerate(self.quotas):
            if not quota_applies(quota, declaration, line, taxonomy, home):
                continue
            declared = declared_quantity(item, quota.unit)
            if declared.quantity is None:
                reasons.append(
                    Reason(
                        ReasonCode.UNIT_INCOMPATIBLE,
                        f"item {item.number} cannot be counted against the {quota.describe()}: "
                        f"{declared.problem}",
                    )
                )
                continue
            amount = declared.quantity.amount
            earlier = self.taken[index]
            if quota.used + earlier + amount > quota.quantity:
                by_items = f", {format_decimal(earlier)} by earlier items" if earlier else ""
                reasons.append(
                    Reason(
                        ReasonCode.QUOTA_EXCEEDED,
                        f"item {item.number} declares {format_decimal(amount)} "
                        f"{unit_label(quota.unit)}; the {quota.describe()} has "
                        f"{format_decimal(quota.used)} used{by_items}, "
                        f"{format_decimal(max(quota.left - earlier, Decimal(0)))} left",
                    )
                )
                planned.append(
                    (index, QuotaCharge(quota.id, item.number, amount, quota.unit, False))
                )
            else:
                planned.append((index, QuotaCharge(quota.id, item.number, amount, quota.unit)))
        return reasons, planned

    def take(self, planned: list[tuple[int, QuotaCharge]]) -> None:
        for index, charge in planned:
            self.taken[index] += charge.quantity
            self.charges.append(charge)


def review_trade(
    controls: TradeControls,
    declaration: Declaration,
    items: tuple[ItemDecision, ...],
    find_permits: PermitFinder,
    taxonomy: TaxonomyView,
    policy: DecisionPolicy,
) -> tuple[tuple[ItemDecision, ...], tuple[QuotaCharge, ...]]:
    """The items with TRADE_SUSPENDED and QUOTA_EXCEEDED added where they apply (holding a
    matched item when the code blocks, a risk flag when it is configured as ``flag``), and
    the quota charges of the items still matched."""
    if not controls.suspensions and not controls.quotas:
        return items, ()
    home = policy.home_country
    declared = {i.number: i for i in declaration.items}
    tally = QuotaTally(controls.quotas)
    reviewed = []
    for decided in items:
        found = _line_of(decided, find_permits)
        item = declared.get(decided.item_number)
        if found is None or item is None or decided.status is ItemStatus.NOT_CONCERNED:
            reviewed.append(decided)
            continue
        permit, line = found
        reasons = suspension_reasons(controls, declaration, permit, line, taxonomy, home)
        quota_reasons, planned = tally.check(item, declaration, line, taxonomy, home)
        reasons += quota_reasons
        blocking = [r for r in reasons if policy.severity_of(r) is Severity.BLOCK]
        flags = [r for r in reasons if r not in blocking]
        if blocking or decided.status is not ItemStatus.MATCHED:
            # a held item writes nothing off, so it counts against no quota
            blocking = [*decided.reasons, *blocking]
            decided = replace(
                decided,
                status=ItemStatus.HELD,
                reasons=tuple(blocking),
                risk_flags=(*decided.risk_flags, *flags),
                write_offs=(),
                remaining_after=None,
            )
        else:
            tally.take(planned)
            decided = replace(decided, risk_flags=(*decided.risk_flags, *flags))
        reviewed.append(decided)
    return tuple(reviewed), tuple(tally.charges)


def _line_of(decided: ItemDecision, find: PermitFinder) -> tuple[Permit, PermitLine] | None:
    if decided.permit_number is None or decided.permit_line is None:
        return None
    for permit in find(decided.permit_number):
        if permit.issuing_country == decided.issuing_country:
            line = permit.line(decided.permit_line)
            return None if line is None else (permit, line)
    return None
