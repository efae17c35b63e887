"""The decision case table (tests/cases/decisions.yaml), decided through the real service.

Each case becomes the domain objects it names (README.md beside the table: keys are the
domain's field names), its permits are put into a ledger, and the declaration is decided by
``services.deciding.decide_and_write_off`` with a ``Rulebook`` over the bundled HS table,
taxonomy and listings: the path SOAP ``CheckDeclaration`` takes. The decision, each item's
status, blocking reasons, risk flags and write-offs are compared with the case; the usages
written are the write-offs of a cleared declaration, and nothing for a held one.

The ledger is the in-memory one (tests/memory_ledger.py), a fake of the ledger port that the
state-machine test holds equal to the SQL ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from itertools import count
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import DEFAULT_SEVERITIES, QuotaCharge, ReasonCode, Severity
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitType,
)
from cites_connector.hs_codes.taxonomy_data import load_bundled_listings, load_bundled_taxonomy
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.deciding import Decided, decide_and_write_off
from tests.builders import bundled_tables
from tests.memory_ledger import MemoryLedger
from tests.trade_cases import quota_from_case, suspension_from_case

CASES_FILE = Path(__file__).resolve().parents[1] / "cases" / "decisions.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _party(data: Mapping[str, Any] | None) -> Party:
    data = data or {}
    return Party(name=data.get("name"), country=data.get("country"), id=data.get("id"))


def build_item(data: Mapping[str, Any]) -> DeclarationItem:
    return DeclarationItem(
        number=data["number"],
        hs_code=data["hs_code"],
        description=data.get("description"),
        origin_country=data.get("origin_country"),
        net_mass=_decimal(data.get("net_mass")),
        supplementary_quantity=_decimal(data.get("supplementary_quantity")),
        supplementary_unit=data.get("supplementary_unit"),
        documents=tuple(
            AttachedDocument(code=d["code"], reference=d.get("reference"))
            for d in data["documents"]
        ),
    )


def build_declaration(data: Mapping[str, Any]) -> Declaration:
    return Declaration(
        declaration_type=data["declaration_type"],
        procedure=data.get("procedure"),
        flow=Flow(data["flow"]),
        date=data["date"],
        office=data.get("office"),
        export_country=data.get("export_country"),
        destination_country=data.get("destination_country"),
        exporter=_party(data.get("exporter")),
        consignee=_party(data.get("consignee")),
        declarant_code=data.get("declarant_code"),
        items=tuple(build_item(i) for i in data["items"]),
    )


def build_line(data: Mapping[str, Any]) -> PermitLine:
    return PermitLine(
        line=data["line"],
        taxon=data["taxon"],
        quantity=Decimal(data["quantity"]),
        unit=data.get("unit"),
        appendix=data.get("appendix"),
        source=data.get("source"),
        term=data.get("term"),
        origin_country=data.get("origin_country"),
        description=data.get("description"),
        remaining=_decimal(data.get("remaining")),
        exported_quantity=_decimal(data.get("exported_quantity")),
        origin_permit_number=data.get("origin_permit_number"),
    )


def build_permit(data: Mapping[str, Any]) -> Permit:
    return Permit(
        permit_number=data["permit_number"],
        issuing_country=data["issuing_country"],
        version=data["version"],
        type=PermitType(data["type"]),
        status=PermitStatus(data["status"]),
        consignment_policy=ConsignmentPolicy(data["consignment_policy"]),
        purpose=data.get("purpose"),
        issued_on=data.get("issued_on"),
        valid_from=data["valid_from"],
        valid_until=data["valid_until"],
        exporter=_party(data.get("exporter")),
        importer=_party(data.get("importer")),
        used_by=data.get("used_by"),
        lines=tuple(build_line(ln) for ln in data["lines"]),
    )


def build_policy(case: Mapping[str, Any]) -> DecisionPolicy:
    """The policy the case's settings make (README "Settings"; defaults otherwise)."""
    settings = case.get("settings", {})
    severities = dict(DEFAULT_SEVERITIES)
    for code, severity in settings.get("severities", {}).items():
        severities[ReasonCode(code)] = Severity(severity)
    extra: dict[str, Any] = {}
    for key in ("foreign_permit_months", "max_backdate_days", "transit_concerned"):
        if key in settings:
            extra[key] = settings[key]
    return DecisionPolicy(
        home_country=case["home"],
        severities=MappingProxyType(severities),
        designated_offices=frozenset(settings.get("designated_offices", ())),
        exemption_codes=frozenset(settings.get("exemption_codes", ())),
        **extra,
    )


def rulebook(policy: DecisionPolicy) -> Rulebook:
    return Rulebook(
        tables=bundled_tables,
        taxonomy=load_bundled_taxonomy(),
        policy=policy,
        listings=load_bundled_listings(),
    )


def _params() -> list[Any]:
    params = []
    for case in CASES:
        params.append(pytest.param(case, id=case["id"]))
    return params


def _write_offs(items: Any) -> list[tuple[int, str, str, str, Decimal]]:
    return sorted(
        (item_number, w["permit_number"], w["issuing_country"], w["line"], Decimal(w["quantity"]))
        for item_number, write_offs in items
        for w in write_offs
    )


def decide_case(ledger: Any, case: Mapping[str, Any]) -> Decided:
    """Put the case's permits into ``ledger`` and decide its declaration as SOAP would."""
    checked_on: date = case["checked_on"]
    earlier = datetime.combine(checked_on, time(9), tzinfo=UTC)
    with ledger.transaction() as uow:
        for data in case["permits"]:
            uow.permits.save(build_permit(data))
        for entry in case.get("suspensions") or ():
            uow.trade.add_suspension(suspension_from_case(entry), "case-table", earlier)
        for entry in case.get("quotas") or ():
            # the quota as set by an administrator, then what earlier exports used of it,
            # charged as the deciding transaction charges a write-off
            quota = quota_from_case(entry)
            uow.trade.set_quota(replace(quota, used=Decimal(0), id=None), "case-table", earlier)
            number = next(q.id for q in uow.trade.quotas(year=quota.year) if q.key == quota.key)
            if quota.used:
                charge = QuotaCharge(number, 1, quota.used, quota.unit)
                assert uow.trade.charge(charge, f"EARLIER-{case['id']}", 1, earlier)
    ids = count(1)
    with ledger.transaction() as uow:
        return decide_and_write_off(
            uow,
            rulebook(build_policy(case)),
            f"CASE-{case['id']}",
            1,
            build_declaration(case["declaration"]),
            checked_on=checked_on,
            now=datetime.combine(checked_on, time(10), tzinfo=UTC),
            new_id=lambda: f"{case['id']}-{next(ids)}",
            endorsed_by="case-table",
        )


def assert_as_expected(case: Mapping[str, Any], decided: Decided) -> None:
    """Decision, item statuses, reason and flag sets, write-offs and usages as the case says
    (the messages are shown when the codes differ)."""
    decision, expect = decided.decision, case["expect"]
    shown = {
        "decision": decision.decision.value,
        "reasons": sorted(r.code.value for r in decision.reasons),
        "items": [
            {
                "number": i.item_number,
                "status": i.status.value,
                "reasons": sorted({r.code.value for r in i.reasons}),
                "flags": sorted({r.code.value for r in i.risk_flags}),
            }
            for i in decision.items
        ],
    }
    wanted = {
        "decision": expect["decision"],
        "reasons": sorted(expect["reasons"]),
        "items": [
            {
                "number": i["number"],
                "status": i["status"],
                "reasons": sorted(set(i["reasons"])),
                "flags": sorted(set(i["flags"])),
            }
            for i in expect["items"]
        ],
    }
    messages = [r.message for i in decision.items for r in (*i.reasons, *i.risk_flags)]
    assert shown == wanted, messages
    expected_write_offs = _write_offs(
        (i["number"], i.get("write_offs", ())) for i in expect["items"]
    )
    written = sorted(
        (w.item_number, w.permit_number, w.issuing_country, w.line, w.quantity)
        for w in decision.write_offs
    )
    assert written == expected_write_offs
    used = sorted(
        (u.item_number, u.permit_number, u.issuing_country, u.line, u.quantity)
        for u in decided.usages
    )
    assert used == (expected_write_offs if decision.cleared else [])


def case_named(case_id: str) -> dict[str, Any]:
    return next(c for c in CASES if c["id"] == case_id)


@pytest.mark.parametrize("case", _params())
def test_case(case: dict[str, Any]) -> None:
    assert_as_expected(case, decide_case(MemoryLedger(), case))
