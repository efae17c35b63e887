"""The four operations over real HTTP, called by zeep from the served WSDL (contract 1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from cites_connector.adapters.soap.clearance_client import ClearanceFault
from tests.integration.soap.conftest import (
    SAMPLE_SAD,
    assert_valid,
    body_payload,
    check_request,
    envelope,
    fault_of,
)

HELD_SAD = SAMPLE_SAD.replace(
    b"<Suppplementary_unit_quantity>40.0<", b"<Suppplementary_unit_quantity>41.0<"
)


def test_check_declaration_clears_the_sample_and_writes_both_permits_off(service):
    client = service.client()
    result = client.check_declaration("WDHA-E1042", 1, SAMPLE_SAD)

    assert (result["DeclarationId"], result["Version"], result["Decision"]) == (
        "WDHA-E1042",
        1,
        "CLEARED",
    )
    pythons, skins, tubs = result["Items"]
    assert pythons == {
        "ItemNumber": 1,
        "HsCode": "0106200000",
        "Status": "MATCHED",
        "PermitNumber": "26NA000123",
        "IssuingCountry": "NA",
        "PermitLine": "A",
        "Quantity": Decimal("40"),
        "Unit": None,
        "RemainingAfter": Decimal("0"),
        "Reasons": [],
        "RiskFlags": [],
    }
    assert (skins["PermitNumber"], skins["Quantity"], skins["Unit"], skins["RemainingAfter"]) == (
        "26NA000131",
        Decimal("12"),
        "KIL",
        Decimal("38"),
    )
    assert tubs["Status"] == "NOT_CONCERNED" and tubs["PermitNumber"] is None
    assert result["Reasons"] == []
    assert service.remaining("26NA000131") == "38"


def test_response_validates_against_the_xsd(service):
    response = service.post(envelope(check_request("V-1", HELD_SAD)))
    assert response.status_code == 200
    payload = body_payload(response)
    assert_valid(payload)
    assert payload.tag.endswith("CheckDeclarationResponse")


def test_a_held_declaration_lists_every_reason_and_writes_nothing(service):
    result = service.client().check_declaration("HELD-1", 1, HELD_SAD)
    assert result["Decision"] == "HELD"
    pythons = result["Items"][0]
    assert pythons["Status"] == "HELD"
    assert "QUANTITY_EXCEEDED" in [r["Code"] for r in pythons["Reasons"]]
    assert all(r["Message"] for r in pythons["Reasons"])
    assert service.remaining("26NA000123") == "40"
    assert service.remaining("26NA000131") == "50"


def test_a_repeat_returns_the_stored_decision_and_writes_nothing_again(service):
    client = service.client()
    first = client.check_declaration("REP-1", 1, SAMPLE_SAD)
    again = client.check_declaration("REP-1", 1, SAMPLE_SAD)
    assert again == first
    assert service.remaining("26NA000131") == "38"


def test_a_higher_version_gives_the_earlier_write_offs_back_and_decides_again(service):
    client = service.client()
    client.check_declaration("AMD-1", 1, SAMPLE_SAD)
    fewer_skins = SAMPLE_SAD.replace(b"<Net_weight_itm>12.0<", b"<Net_weight_itm>5.0<")
    amended = client.check_declaration("AMD-1", 2, fewer_skins)
    assert amended["Version"] == 2 and amended["Decision"] == "CLEARED"
    assert amended["Items"][1]["RemainingAfter"] == Decimal("45")
    assert service.remaining("26NA000131") == "45"
    assert client.get_decision("AMD-1")["Version"] == 2


def test_a_lower_version_is_refused_as_stale_and_changes_nothing(service):
    client = service.client()
    client.check_declaration("STALE-1", 2, SAMPLE_SAD)
    with pytest.raises(ClearanceFault) as refused:
        client.check_declaration("STALE-1", 1, SAMPLE_SAD)
    assert refused.value.code == "Client.StaleVersion"
    assert refused.value.faultcode == "soap:Client.StaleVersion"
    assert "version 1" in refused.value.message
    assert client.get_decision("STALE-1")["Version"] == 2
    assert service.remaining("26NA000131") == "38"


def test_version_defaults_to_1(service):
    result = service.client().check_declaration("NOVER-1", None, SAMPLE_SAD)
    assert result["Version"] == 1


def test_get_decision_returns_the_latest_with_its_state(service):
    client = service.client()
    client.check_declaration("GD-1", 1, SAMPLE_SAD)
    decided = client.get_decision("GD-1")
    assert decided["Decision"] == "CLEARED" and decided["State"] == "CLEARED"
    assert [i["Status"] for i in decided["Items"]] == ["MATCHED", "MATCHED", "NOT_CONCERNED"]
    client.cancel_declaration("GD-1", "withdrawn")
    assert client.get_decision("GD-1")["State"] == "CANCELLED"


def test_unknown_declaration_is_a_fault_for_get_and_cancel(service):
    client = service.client()
    for call in (
        lambda: client.get_decision("NOPE"),
        lambda: client.cancel_declaration("NOPE", "x"),
    ):
        with pytest.raises(ClearanceFault) as refused:
            call()
        assert refused.value.code == "Client.UnknownDeclaration"
        assert "NOPE" in refused.value.message


def test_cancellation_restores_every_write_off_once(service):
    client = service.client()
    client.check_declaration("CAN-1", 1, SAMPLE_SAD)
    cancelled = client.cancel_declaration("CAN-1", "goods not shipped")
    assert cancelled["DeclarationId"] == "CAN-1"
    assert [
        (u["PermitNumber"], u["Quantity"], u["RemainingAfter"]) for u in cancelled["Restored"]
    ] == [
        ("26NA000123", Decimal("40"), Decimal("40")),
        ("26NA000131", Decimal("12"), Decimal("50")),
    ]
    assert client.get_permit_balance("26NA000123")["Status"] == "VALID"
    assert client.cancel_declaration("CAN-1", "again")["Restored"] == []
    assert service.remaining("26NA000131") == "50"


def test_permit_balance_shows_status_validity_and_remaining(service):
    client = service.client()
    client.check_declaration("BAL-1", 1, SAMPLE_SAD)
    single = client.get_permit_balance("26NA000123", "NA")
    assert single["Status"] == "USED"
    assert str(single["ValidFrom"]) == "2026-11-02" and str(single["ValidUntil"]) == "2027-05-01"
    multiple = client.get_permit_balance("26NA000131")
    assert multiple["Lines"] == [
        {
            "Line": "A",
            "Taxon": "Crocodylus niloticus",
            "Quantity": Decimal("50"),
            "Unit": "KIL",
            "Remaining": Decimal("38"),
        }
    ]


def test_unknown_permit_is_a_fault(service):
    with pytest.raises(ClearanceFault) as refused:
        service.client().get_permit_balance("26NA999999")
    assert refused.value.code == "Client.UnknownPermit"


def test_a_sad_without_declaration_type_fails_mapping_and_writes_nothing(service):
    broken = SAMPLE_SAD.replace(
        b"<Type_of_declaration>EX</Type_of_declaration>",
        b"<Type_of_declaration><null/></Type_of_declaration>",
    )
    with pytest.raises(ClearanceFault) as refused:
        service.client().check_declaration("MAP-1", 1, broken)
    assert refused.value.code == "Client.MappingFailed"
    assert service.remaining("26NA000123") == "40"


def test_a_request_missing_a_required_element_is_a_schema_violation(service):
    body = check_request("SV-1").replace("<c:DeclarationId>SV-1</c:DeclarationId>", "")
    code, message, detail = fault_of(service.post(envelope(body)))
    assert code == detail == "Client.SchemaViolation"
    assert "DeclarationId" in message
    assert service.remaining("26NA000123") == "40"


def test_a_sad_sent_as_escaped_text_is_refused_with_the_fix(service):
    escaped = SAMPLE_SAD.decode().split("?>", 1)[1].replace("&", "&amp;").replace("<", "&lt;")
    body = (
        "<c:CheckDeclarationRequest><c:DeclarationId>ESC-1</c:DeclarationId>"
        f"<c:Declaration>{escaped}</c:Declaration></c:CheckDeclarationRequest>"
    )
    code, message, _ = fault_of(service.post(envelope(body)))
    assert code == "Client.SchemaViolation" and "not as escaped text" in message


def test_an_asycuda_element_inheriting_the_service_namespace_is_refused_with_the_fix(service):
    sad = SAMPLE_SAD.decode().split("?>", 1)[1]
    body = (
        f'<CheckDeclarationRequest xmlns="urn:cites-connector:clearance:1">'
        f"<DeclarationId>NS-1</DeclarationId><Declaration>{sad}</Declaration>"
        "</CheckDeclarationRequest>"
    )
    code, message, _ = fault_of(service.post(envelope(body)))
    assert code == "Client.MappingFailed"
    assert 'xmlns=""' in message

    fixed = body.replace("<ASYCUDA>", '<ASYCUDA xmlns="">')
    response = service.post(envelope(fixed))
    assert response.status_code == 200
    assert service.remaining("26NA000131") == "38"


def test_two_parallel_calls_for_the_same_declaration_write_off_once(service):
    clients = [service.client(), service.client()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: c.check_declaration("PAR-1", 1, SAMPLE_SAD), clients))
    assert [r["Decision"] for r in results] == ["CLEARED", "CLEARED"]
    assert results[0] == results[1]
    assert service.remaining("26NA000131") == "38"
    usages = service.app.permits.balance("26NA000131", "NA").usages
    assert [u.declaration_id for u in usages] == ["PAR-1"]
