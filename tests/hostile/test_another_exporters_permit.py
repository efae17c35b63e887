"""Issue 9, item 2: a trader clearing goods on another exporter's permit.

Before the fix ``PARTY_MISMATCH`` was only ever a flag, even for a different trader id, and a
name that was not ASCII, absent or only punctuation skipped the check altogether (it folded to
nothing), even with ``PARTY_MISMATCH`` set to ``block``. Contract 5 (v2): different trader ids
hold the item whatever the setting; names are compared after NFKC normalisation, case folding
and removal of punctuation and legal forms; a name with no letters is never a silent pass
(``PARTY_UNVERIFIED``). Every case goes through the real SOAP service and asserts the exact
reason and that nothing was written off.
"""

from __future__ import annotations

import json

import pytest

from cites_connector.mappings.permit_json import parse_permit
from tests.hostile.clearance_kit import codes, edited_sad, soap_service, write_offs
from tests.integration.soap.conftest import SAMPLE_PERMITS

EXPORTER_CODE = "Traders/Exporter/Exporter_code"
EXPORTER_NAME = "Traders/Exporter/Exporter_name"
BLOCK_NAMES = {"severities": {"PARTY_MISMATCH": "block"}}
BLOCK_UNVERIFIED = {"severities": {"PARTY_UNVERIFIED": "block"}}


def decide(tmp_path, sad: bytes, settings: dict | None = None, permit: dict | None = None):
    """(result, write-off tables before, after) of one CheckDeclaration on a fresh service."""
    with soap_service(tmp_path, **(settings or {})) as service:
        if permit is not None:
            service.app.permits.apply(parse_permit(json.dumps(permit).encode()))
        before = write_offs(service.app.engine)
        result = service.client().check_declaration("PARTY-1", 1, sad)
        return result, before, write_offs(service.app.engine)


def cited_items(result) -> list:
    return [i for i in result["Items"] if i["Status"] != "NOT_CONCERNED"]


def test_another_traders_id_holds_the_declaration_even_with_the_default_flag(tmp_path):
    sad = edited_sad({EXPORTER_CODE: "NA-EXP-0099"})  # the permit holder's name, another id

    result, before, after = decide(tmp_path, sad)

    assert result["Decision"] == "HELD"
    for item in cited_items(result):
        assert item["Status"] == "HELD"
        assert codes(item["Reasons"]) == ["PARTY_MISMATCH"]
        assert "NA-EXP-0099" in item["Reasons"][0]["Message"]
    assert after == before


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Οκαβάνγκο Ερπετά", id="greek"),
        pytest.param("Окаванго Рептилии", id="cyrillic"),
        pytest.param("オカバンゴ爬虫類", id="japanese"),
    ],
)
def test_a_non_ascii_name_of_another_trader_is_compared_not_skipped(tmp_path, name):
    sad = edited_sad({EXPORTER_CODE: None, EXPORTER_NAME: name})

    flagged, _, _ = decide(tmp_path / "flag", sad)
    result, before, after = decide(tmp_path / "block", sad, BLOCK_NAMES)

    assert flagged["Decision"] == "CLEARED"
    assert all(codes(i["RiskFlags"]) == ["PARTY_MISMATCH"] for i in cited_items(flagged))
    assert result["Decision"] == "HELD"
    assert all(codes(i["Reasons"]) == ["PARTY_MISMATCH"] for i in cited_items(result))
    assert after == before


# the permit holder's name, written in Greek and Cyrillic capitals that look like the Latin ones
LOOK_ALIKE_PERMIT_NAME = "AKTEON TAXI"
LOOK_ALIKES = {
    "greek": "ΑΚΤΕΟΝ ΤΑΧΙ",
    "cyrillic": "АКТЕОN ТАХІ",  # only the N is Latin
}


@pytest.mark.parametrize("script", sorted(LOOK_ALIKES))
def test_a_look_alike_of_the_holders_name_is_another_name(tmp_path, script):
    permits = json.loads(SAMPLE_PERMITS)
    permit = permits[0] | {
        "permit_number": "26NA000777",
        "exporter": {"name": LOOK_ALIKE_PERMIT_NAME, "country": "NA", "id": None},
    }
    sad = edited_sad(
        {
            EXPORTER_CODE: None,
            EXPORTER_NAME: LOOK_ALIKES[script],
            "Item/Attached_documents[2]/Attached_document_reference": "26NA000777",
        }
    )

    result, before, after = decide(tmp_path, sad, BLOCK_NAMES, permit)

    pythons = result["Items"][0]
    assert result["Decision"] == "HELD"
    assert (pythons["PermitNumber"], codes(pythons["Reasons"])) == (
        "26NA000777",
        ["PARTY_MISMATCH"],
    )
    assert after == before


UNVERIFIABLE = {
    "absent": None,
    "blank": "   ",
    "punctuation-only": "-- . / --",
    "digits-only": "0042",
    "legal-form-only": "CC",
    "legal-forms-only": "(Pty) Ltd.",
}


@pytest.mark.parametrize("kind", sorted(UNVERIFIABLE))
def test_a_name_with_no_letters_is_never_a_silent_pass(tmp_path, kind):
    sad = edited_sad({EXPORTER_CODE: None, EXPORTER_NAME: UNVERIFIABLE[kind]})

    flagged, _, _ = decide(tmp_path / "flag", sad, BLOCK_NAMES)
    result, before, after = decide(tmp_path / "block", sad, BLOCK_UNVERIFIED)

    # even with PARTY_MISMATCH at `block`, an unverifiable name is no mismatch: it is flagged
    assert flagged["Decision"] == "CLEARED"
    assert all(codes(i["RiskFlags"]) == ["PARTY_UNVERIFIED"] for i in cited_items(flagged))
    assert "exporter" in cited_items(flagged)[0]["RiskFlags"][0]["Message"]
    # an administration that wants such declarations held says so
    assert result["Decision"] == "HELD"
    assert all(codes(i["Reasons"]) == ["PARTY_UNVERIFIED"] for i in cited_items(result))
    assert after == before
