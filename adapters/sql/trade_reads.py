"""What a deciding transaction reads of the trade controls (trade_control_rows.py), and the
rows' codec, built once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, or_, select

from cites_connector.adapters.sql.codec import from_micro
from cites_connector.adapters.sql.prebuilt import Prebuilt
from cites_connector.adapters.sql.trade_schema import export_quotas, trade_suspensions
from cites_connector.domain.trade_controls import ExportQuota, Suspension, TradeFlow

_s, _q = trade_suspensions.c, export_quotas.c
#: what every deciding transaction reads: compiled once, run on the driver (prebuilt.py,
#: issue 14); the suspensions in force are few, their countries are picked here, so that the
#: statement's SQL is fixed
SUSPENSIONS_IN_FORCE = Prebuilt(
    select(trade_suspensions)
    .where(
        _s.removed_at.is_(None),
        _s.starts_on <= bindparam("b_on"),
        or_(_s.ends_on.is_(None), _s.ends_on >= bindparam("b_on")),
    )
    .order_by(_s.id),
    ("b_on",),
)
QUOTAS_OF_YEAR = Prebuilt(
    select(export_quotas)
    .where(_q.year == bindparam("b_year"))
    .order_by(_q.year, _q.taxon_key, _q.term, _q.id),
    ("b_year",),
)


def taxon_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def suspension_from_row(row: Mapping[Any, Any]) -> Suspension:
    return Suspension(
        country=row["country"],
        taxon=row["taxon"],
        flow=TradeFlow(row["flow"]),
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        reference=row["reference"],
        sources=frozenset(row["sources"].split()),
        purposes=frozenset(row["purposes"].split()),
        notes=row["notes"],
        origin=row["origin"],
        id=row["id"],
    )


def quota_from_row(row: Mapping[Any, Any]) -> ExportQuota:
    return ExportQuota(
        country=row["country"],
        taxon=row["taxon"],
        year=row["year"],
        quantity=from_micro(row["quantity_micro"]),
        unit=row["unit"],
        term=row["term"] or None,
        used=from_micro(row["used_micro"]),
        notes=row["notes"],
        origin=row["origin"],
        id=row["id"],
    )
