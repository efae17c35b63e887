"""The SUS-* and QUO-* cases of tests/cases/decisions.yaml through the Decider.

The general case-table runner (tests/unit/test_decision_cases.py) decides every case; this
one covers the suspension and quota families with the builders of tests/trade_cases.py, so
that they are checked here however the runner treats them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from cites_connector.domain.decider import Decider
from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.permits import (
    ConsignmentPolicy,
    Party,
    Permit,
    PermitLine,
    PermitStatus,
    PermitType,
)
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from tests.builders import PermitBook, bundled_tables
from tests.trade_cases import controls_from_case

CASES = Path(__file__).parents[1] / "cases" / "decisions.yaml"
TRADE_CASES = [
    c
    for c in yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]
    if c["id"].split("-")[0] in ("SUS", "QUO")
]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _party(value: dict[str, Any] | None) -> Party:
    return Party(**(value or {}))


def declaration_of(d: dict[str, Any]) -> Declaration:
    items = tuple(
        DeclarationItem(
            number=i["number"],
            hs_code=i["hs_code"],
            description=i.get("description"),
            origin_country=i.get("origin_country"),
            net_mass=_decimal(i.get("net_mass")),
            supplementary_quantity=_decimal(i.get("supplementary_quantity")),
            supplementary_unit=i.get("supplementary_unit"),
            documents=tuple(
                AttachedDocument(x["code"], x.get("reference")) for x in i["documents"]
            ),
        )
        for i in d["items"]
    )
    return Declaration(
        declaration_type=d["declaration_type"],
        flow=Flow(d["flow"]),
        date=d["date"],
        items=items,
        office=d.get("office"),
        procedure=d.get("procedure"),
        exporter=_party(d.get("exporter")),
        consignee=_party(d.get("consignee")),
        declarant_code=d.get("declarant_code"),
        export_country=d.get("export_country"),
        destination_country=d.get("destination_country"),
    )


def permit_of(p: dict[str, Any]) -> Permit:
    lines = tuple(
        PermitLine(
            line=ln["line"],
            taxon=ln["taxon"],
            quantity=Decimal(str(ln["quantity"])),
            unit=ln.get("unit"),
            appendix=ln.get("appendix"),
            source=ln.get("source"),
            term=ln.get("term"),
            origin_country=ln.get("origin_country"),
            remaining=_decimal(ln.get("remaining")),
        )
        for ln in p["lines"]
    )
    return Permit(
        permit_number=p["permit_number"],
        issuing_country=p["issuing_country"],
        version=p["version"],
        type=PermitType(p["type"]),
        valid_from=p["valid_from"],
        valid_until=p["valid_until"],
        lines=lines,
        status=PermitStatus(p["status"]),
        consignment_policy=ConsignmentPolicy(p["consignment_policy"]),
        issued_on=p.get("issued_on"),
        exporter=_party(p.get("exporter")),
        importer=_party(p.get("importer")),
        purpose=p.get("purpose"),
        used_by=p.get("used_by"),
    )


@pytest.mark.parametrize("case", TRADE_CASES, ids=[c["id"] for c in TRADE_CASES])
def test_trade_case(case):
    decider = Decider(
        tables=bundled_tables(),
        taxonomy=load_bundled_taxonomy(),
        find_permits=PermitBook(permit_of(p) for p in case["permits"]),
        policy=DecisionPolicy(home_country=case["home"]),
        controls=controls_from_case(case),
    )
    decision = decider.decide(case["id"], 1, declaration_of(case["declaration"]))
    expect = case["expect"]
    assert decision.decision.value == expect["decision"], decision
    for wanted in expect["items"]:
        item = next(i for i in decision.items if i.item_number == wanted["number"])
        assert item.status.value == wanted["status"]
        assert {r.code.value for r in item.reasons} == set(wanted["reasons"]), item.reasons
        assert {r.code.value for r in item.risk_flags} == set(wanted.get("flags") or ())
        written = [
            (w.permit_number, w.issuing_country, w.line, w.quantity) for w in item.write_offs
        ]
        assert written == [
            (w["permit_number"], w["issuing_country"], w["line"], Decimal(str(w["quantity"])))
            for w in wanted.get("write_offs") or ()
        ]
    if "notification" in (case.get("note") or ""):
        notification = case["suspensions"][0]["notification"]
        assert any(notification in r.message for i in decision.items for r in i.reasons)
