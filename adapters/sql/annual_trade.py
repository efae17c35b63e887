"""The year's cleared write-offs for the CITES annual report, in one query.

Each active usage (not reversed: a cancelled or amended declaration gave its quantities back)
recorded in the period, joined to its permit, its permit line and the decision of the
declaration version it cleared; the few declaration fields the report needs are read out of
the stored declaration's JSON by the database (SQLite ``json_extract``, PostgreSQL ``->>``),
not decoded per row. The permit line is joined outer: an amendment may have dropped a line
that was written off already (services/permit_store.py), and its trade still happened.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, and_, bindparam, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import from_micro, utc
from cites_connector.adapters.sql.transactions import reading
from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import PermitType
from cites_connector.services.annual_report import AnnualTradeReader, ClearedWriteOff

_u, _p, _l, _d = t.usages.c, t.permits.c, t.permit_lines.c, t.decisions.c

_WRITE_OFFS = (
    select(
        _u.declaration_id,
        _u.declaration_version,
        _u.item_number,
        _u.permit_number,
        _u.issuing_country,
        _u.line,
        _u.quantity_micro,
        _u.unit,
        _u.recorded_at,
        _d.declaration["flow"].as_string().label("flow"),
        _d.declaration["export_country"].as_string().label("export_country"),
        _d.declaration["destination_country"].as_string().label("destination_country"),
        _p.type.label("permit_type"),
        _p.purpose,
        _p.exporter["country"].as_string().label("permit_exporter_country"),
        _p.importer["country"].as_string().label("permit_importer_country"),
        _l.taxon,
        _l.appendix,
        _l.source,
        _l.term,
        _l.origin_country,
        _l.origin_permit_number,
    )
    .select_from(t.usages)
    .join(
        t.permits,
        and_(_p.permit_number == _u.permit_number, _p.issuing_country == _u.issuing_country),
    )
    .outerjoin(t.permit_lines, and_(_l.permit_id == _p.id, _l.line == _u.line))
    .join(
        t.decisions,
        and_(_d.declaration_id == _u.declaration_id, _d.version == _u.declaration_version),
    )
    .where(
        _u.reversed_at.is_(None),
        _u.recorded_at >= bindparam("start"),
        _u.recorded_at < bindparam("end"),
    )
    .order_by(_u.recorded_at, _u.usage_id)
)


class SqlAnnualTradeReader(AnnualTradeReader):
    """Reads in a read-only transaction: the report never changes the ledger."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def cleared_write_offs(self, start: datetime, end: datetime) -> list[ClearedWriteOff]:
        # stored times are UTC (SQLite keeps them as text without an offset: compare in UTC)
        bounds = {"start": start.astimezone(UTC), "end": end.astimezone(UTC)}
        with reading(self.engine, enforced=True) as connection:
            rows = connection.execute(_WRITE_OFFS, bounds).all()
        return [
            ClearedWriteOff(
                declaration_id=r.declaration_id,
                declaration_version=r.declaration_version,
                item_number=r.item_number,
                flow=Flow(r.flow),
                export_country=r.export_country,
                destination_country=r.destination_country,
                permit_number=r.permit_number,
                issuing_country=r.issuing_country,
                permit_type=PermitType(r.permit_type),
                purpose=r.purpose,
                permit_exporter_country=r.permit_exporter_country,
                permit_importer_country=r.permit_importer_country,
                line=r.line,
                taxon=r.taxon or "",
                appendix=r.appendix,
                source=r.source,
                term=r.term,
                origin_country=r.origin_country,
                origin_permit_number=r.origin_permit_number,
                quantity=from_micro(r.quantity_micro),
                unit=r.unit,
                recorded_at=utc(r.recorded_at),
            )
            for r in rows
        ]
