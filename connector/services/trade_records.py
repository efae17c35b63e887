"""Suspensions and quotas as plain records: what the audit chain keeps of each change, and
what a proposed import holds until a second person approves it (trade_imports.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeFlow
from cites_connector.domain.units import format_decimal, unit_label


def suspension_record(s: Suspension) -> dict[str, Any]:
    return {
        "country": s.country,
        "taxon": s.taxon,
        "flow": s.flow.value,
        "sources": sorted(s.sources),
        "purposes": sorted(s.purposes),
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat() if s.ends_on else None,
        "reference": s.reference,
        "origin": s.origin,
        "notes": s.notes,
    }


def suspension_from_record(r: Mapping[str, Any]) -> Suspension:
    return Suspension(
        country=r["country"],
        taxon=r["taxon"],
        flow=TradeFlow(r["flow"]),
        sources=frozenset(r["sources"]),
        purposes=frozenset(r["purposes"]),
        starts_on=date.fromisoformat(r["starts_on"]),
        ends_on=date.fromisoformat(r["ends_on"]) if r["ends_on"] else None,
        reference=r["reference"],
        origin=r["origin"],
        notes=r["notes"],
    )


def quota_record(q: ExportQuota) -> dict[str, Any]:
    return {
        "country": q.country,
        "taxon": q.taxon,
        "year": q.year,
        "term": q.term,
        "quantity": format_decimal(q.quantity),
        "unit": q.unit,
        "used": format_decimal(q.used),
        "origin": q.origin,
        "notes": q.notes,
    }


def quota_from_record(r: Mapping[str, Any]) -> ExportQuota:
    return ExportQuota(
        country=r["country"],
        taxon=r["taxon"],
        year=r["year"],
        term=r["term"],
        quantity=Decimal(r["quantity"]),
        unit=r["unit"],
        used=Decimal(r["used"]),
        origin=r["origin"],
        notes=r["notes"],
    )


def quota_label(q: ExportQuota) -> str:
    return f"{format_decimal(q.quantity)} {unit_label(q.unit)}"
