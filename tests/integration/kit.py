"""A small world for service tests: Namibia (NA) exports reptiles to Germany (DE)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cites_connector.app import build_services
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.permits import ConsignmentPolicy, Party, Permit, PermitLine, PermitType
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permits import PermitService

TODAY = date(2026, 11, 28)
EXPORTER = Party("Okavango Reptile Exports CC", "NA", "NA-EXP-0042")
IMPORTER = Party("Terrarium Handel GmbH", "DE", None)
PYTHONS_HS = "0106200000"
LEATHER_HS = "4106400000"
PLASTIC_HS = "3926909700"


class Clock:
    """A clock that moves one second per reading, so usages have distinct times."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def ids():
    counter = itertools.count(1)
    return lambda: f"id-{next(counter):06d}"


def rulebook(**policy) -> Rulebook:
    tables = load_bundled_tables()
    return Rulebook(
        tables=lambda: tables,
        taxonomy=load_bundled_taxonomy(),
        policy=DecisionPolicy(home_country="NA", **policy),
    )


def services(
    ledger, *, unique_ids: bool = False, **policy
) -> tuple[ClearanceService, PermitService]:
    """Services on ``ledger``; ``unique_ids`` for several service instances sharing a ledger."""
    new_id = (lambda: str(uuid.uuid4())) if unique_ids else ids()
    built = build_services(ledger, rulebook(**policy), clock=Clock(), new_id=new_id)
    return built.clearance, built.permits


def permit(
    number: str,
    *lines: PermitLine,
    version: int = 1,
    policy: ConsignmentPolicy = ConsignmentPolicy.SINGLE,
    type: PermitType = PermitType.EXPORT,
    issuer: str = "NA",
) -> Permit:
    return Permit(
        permit_number=number,
        issuing_country=issuer,
        version=version,
        type=type,
        valid_from=date(2026, 11, 2),
        valid_until=date(2027, 5, 1),
        lines=lines or (pythons(40),),
        consignment_policy=policy,
        exporter=EXPORTER,
        importer=IMPORTER,
    )


def pythons(quantity, letter: str = "A") -> PermitLine:
    return PermitLine(
        line=letter,
        taxon="Python regius",
        quantity=Decimal(quantity),
        appendix="II",
        source="C",
        term="LIV",
    )


def python_item(number: int, count, *permits: str) -> DeclarationItem:
    return DeclarationItem(
        number=number,
        hs_code=PYTHONS_HS,
        description="live royal pythons",
        supplementary_quantity=Decimal(count),
        supplementary_unit=None,
        supplementary_unit_code="NMB",
        net_mass=Decimal("0.5") * Decimal(count),
        documents=tuple(AttachedDocument("C400", p) for p in permits),
    )


def plastic_item(number: int) -> DeclarationItem:
    return DeclarationItem(
        number=number, hs_code=PLASTIC_HS, description="plastic tubs", net_mass=Decimal(8)
    )


def export(*items: DeclarationItem, on: date = TODAY) -> Declaration:
    return Declaration(
        declaration_type="EX",
        flow=Flow.EXPORT,
        date=on,
        items=items,
        office="WDHA",
        exporter=EXPORTER,
        consignee=IMPORTER,
        declarant_code="BRK-0917",
        export_country="NA",
        destination_country="DE",
    )


def remaining(ledger, number: str, letter: str = "A", country: str = "NA") -> Decimal:
    with ledger.snapshot() as session:
        return session.permits.get(number, country).line(letter).remaining


def outbox(ledger) -> list:
    """Outbox messages in the order written (both backends)."""
    if hasattr(ledger, "state"):
        return list(ledger.state.outbox)
    from sqlalchemy import select

    from cites_connector.adapters.sql.tables import outbox as table

    with ledger.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def routing_keys(ledger) -> list[str]:
    return [
        m.routing_key if hasattr(m, "routing_key") else m["routing_key"] for m in outbox(ledger)
    ]
