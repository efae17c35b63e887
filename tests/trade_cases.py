"""The suspensions and quotas of a case of tests/cases/decisions.yaml as domain objects
(tests/cases/README.md, "Suspensions and quotas"): for the case-table runner.

A case's ``used`` is what earlier declarations of the year wrote off; a quota gets a number
(its position, from 1) as a stored one would, so that its charges name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeControls, TradeFlow


def suspension_from_case(entry: Mapping[str, Any]) -> Suspension:
    return Suspension(
        country=entry["country"],
        taxon=entry.get("taxon"),
        flow=TradeFlow(entry["flow"]),
        sources=frozenset(entry.get("sources") or ()),
        purposes=frozenset(entry.get("purposes") or ()),
        starts_on=entry["valid_from"],
        ends_on=entry.get("valid_to"),
        reference=entry["notification"],
    )


def quota_from_case(entry: Mapping[str, Any], number: int = 1) -> ExportQuota:
    return ExportQuota(
        country=entry["country"],
        taxon=entry["taxon"],
        year=int(entry["year"]),
        term=entry.get("term"),
        quantity=Decimal(str(entry["quantity"])),
        unit=entry.get("unit"),
        used=Decimal(str(entry.get("used") or 0)),
        id=number,
    )


def controls_from_case(case: Mapping[str, Any]) -> TradeControls:
    """Every suspension and quota of a case, as the deciding transaction would read them."""
    return TradeControls(
        tuple(suspension_from_case(s) for s in case.get("suspensions") or ()),
        tuple(quota_from_case(q, n) for n, q in enumerate(case.get("quotas") or (), start=1)),
    )
