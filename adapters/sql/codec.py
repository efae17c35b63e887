"""Row <-> domain translation for the SQL ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, overload

from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitType,
)
from cites_connector.domain.units import LEDGER_PLACES, canonical
from cites_connector.domain.usages import Usage

_SCALE = Decimal(10) ** LEDGER_PLACES


class Row(Protocol):
    """A row read by column name: a ``RowMapping`` from a query, or a plain dict."""

    def __getitem__(self, name: str, /) -> Any: ...


def to_micro(amount: Decimal) -> int:
    scaled = amount * _SCALE
    if scaled != scaled.to_integral_value():
        raise InvalidInput(f"quantity {amount} has more than {LEDGER_PLACES} decimal places")
    return int(scaled)


def from_micro(value: int) -> Decimal:
    return canonical(Decimal(value) / _SCALE)


@overload
def utc(value: datetime) -> datetime: ...


@overload
def utc(value: None) -> None: ...


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def party_to_row(party: Party) -> dict[str, Any]:
    return {"name": party.name, "country": party.country, "id": party.id}


def permit_from_rows(row: Row, lines: Sequence[Row]) -> Permit:
    return Permit(
        permit_number=row["permit_number"],
        issuing_country=row["issuing_country"],
        version=row["version"],
        content_version=row["content_version"],
        type=PermitType(row["type"]),
        status=PermitStatus(row["status"]),
        consignment_policy=ConsignmentPolicy(row["consignment_policy"]),
        issued_on=row["issued_on"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        exporter=Party(**row["exporter"]),
        importer=Party(**row["importer"]),
        purpose=row["purpose"],
        security_stamp=row["security_stamp"],
        replaces=row["replaces"],
        used_by=row["used_by"],
        signer=row["signer"],
        unsigned=bool(row["unsigned"]),
        lines=tuple(
            PermitLine(
                line=ln["line"],
                taxon=ln["taxon"],
                quantity=from_micro(ln["quantity_micro"]),
                remaining=from_micro(ln["remaining_micro"]),
                unit=ln["unit"],
                appendix=ln["appendix"],
                source=ln["source"],
                term=ln["term"],
                origin_country=ln["origin_country"],
                description=ln["description"],
                exported_quantity=(
                    None
                    if ln["exported_quantity_micro"] is None
                    else from_micro(ln["exported_quantity_micro"])
                ),
                origin_permit_number=ln["origin_permit_number"],
            )
            for ln in sorted(lines, key=lambda ln: (len(ln["line"]), ln["line"]))
        ),
    )


def permit_to_row(permit: Permit) -> dict[str, Any]:
    return {
        "permit_number": permit.permit_number,
        "issuing_country": permit.issuing_country,
        "version": permit.version,
        "content_version": permit.content_version,
        "type": permit.type.value,
        "status": permit.status.value,
        "consignment_policy": permit.consignment_policy.value,
        "issued_on": permit.issued_on,
        "valid_from": permit.valid_from,
        "valid_until": permit.valid_until,
        "exporter": party_to_row(permit.exporter),
        "importer": party_to_row(permit.importer),
        "purpose": permit.purpose,
        "security_stamp": permit.security_stamp,
        "replaces": permit.replaces,
        "used_by": permit.used_by,
        "signer": permit.signer,
        "unsigned": permit.unsigned,
    }


def line_to_row(line: PermitLine) -> dict[str, Any]:
    assert line.remaining is not None
    return {
        "line": line.line,
        "taxon": line.taxon,
        "appendix": line.appendix,
        "source": line.source,
        "term": line.term,
        "unit": line.unit,
        "quantity_micro": to_micro(line.quantity),
        "remaining_micro": to_micro(line.remaining),
        "origin_country": line.origin_country,
        "description": line.description,
        "exported_quantity_micro": (
            None if line.exported_quantity is None else to_micro(line.exported_quantity)
        ),
        "origin_permit_number": line.origin_permit_number,
    }


def usage_to_row(usage: Usage) -> dict[str, Any]:
    return {
        "usage_id": usage.usage_id,
        "permit_number": usage.permit_number,
        "issuing_country": usage.issuing_country,
        "line": usage.line,
        "declaration_id": usage.declaration_id,
        "declaration_version": usage.declaration_version,
        "item_number": usage.item_number,
        "quantity_micro": to_micro(usage.quantity),
        "unit": usage.unit,
        "remaining_after_micro": to_micro(usage.remaining_after),
        "permit_used_up": usage.permit_used_up,
        "office_code": usage.office_code,
        "recorded_at": usage.recorded_at,
        "reversed_at": usage.reversed_at,
        "endorsed_by": usage.endorsed_by,
        "port": usage.port,
        "exit_date": usage.exit_date,
        "declared_quantity": (
            None if usage.declared_quantity is None else str(usage.declared_quantity)
        ),
        "declared_unit": usage.declared_unit,
    }


def usage_from_row(row: Row) -> Usage:
    return Usage(
        usage_id=row["usage_id"],
        permit_number=row["permit_number"],
        issuing_country=row["issuing_country"],
        line=row["line"],
        declaration_id=row["declaration_id"],
        declaration_version=row["declaration_version"],
        item_number=row["item_number"],
        quantity=from_micro(row["quantity_micro"]),
        unit=row["unit"],
        remaining_after=from_micro(row["remaining_after_micro"]),
        permit_used_up=row["permit_used_up"],
        office_code=row["office_code"],
        recorded_at=utc(row["recorded_at"]),
        reversed_at=utc(row["reversed_at"]),
        endorsed_by=row["endorsed_by"],
        port=row["port"],
        exit_date=row["exit_date"],
        declared_quantity=(
            None if row["declared_quantity"] is None else Decimal(row["declared_quantity"])
        ),
        declared_unit=row["declared_unit"],
    )
