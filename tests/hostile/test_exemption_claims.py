"""Issue 11, contract 2 (v2): an exemption code is a claim a trader makes, not a permit.

A trader who attaches ``Y932`` (personal and household effects) to live pythons must not get
them through where the country has not adopted the exemption: the code is then nothing, and
the item is HELD for want of a permit. Where it is adopted, the item is NOT_CONCERNED but
flagged (``EXEMPTION_CLAIMED``) for an officer, and no permit is touched; a permit cited beside
the claim is written off as usual, so a claim cannot shield a permit from its write-off.
"""

from __future__ import annotations

import pytest

from cites_connector.adapters.soap.schema import NS
from tests.hostile.soap_kit import (
    check_request,
    envelope,
    payload,
    post,
    running_service,
)

PERMIT_DOC = (
    "<Attached_document_code>C400</Attached_document_code>\n"
    "<Attached_document_name>CITES permit or certificate</Attached_document_name>\n"
    "<Attached_document_reference>26NA000123</Attached_document_reference>"
)
CLAIM_DOC = (
    "<Attached_document_code>Y932</Attached_document_code>\n"
    "<Attached_document_name>Personal effects</Attached_document_name>\n"
    "<Attached_document_reference>PASSENGER</Attached_document_reference>"
)
CLAIM_BLOCK = f"<Attached_documents>{CLAIM_DOC}</Attached_documents>"


def sad(declaration_id: str, *, keep_permit: bool) -> bytes:
    request = check_request(declaration_id)
    assert PERMIT_DOC in request
    if keep_permit:
        request = request.replace("<Packages>", CLAIM_BLOCK + "<Packages>", 1)
    else:
        request = request.replace(PERMIT_DOC, CLAIM_DOC, 1)
    return envelope(request)


def first_item(response):
    item = payload(response).find(f"{{{NS}}}Items")[0]
    flags = [f.findtext(f"{{{NS}}}Code") for f in item.iterfind(f".//{{{NS}}}Flag")]
    reasons = [r.findtext(f"{{{NS}}}Code") for r in item.iterfind(f".//{{{NS}}}Reason")]
    return item.findtext(f"{{{NS}}}Status"), reasons, flags


@pytest.fixture
def adopted(tmp_path):
    mapping = tmp_path / "exemption.toml"
    mapping.write_text('[documents]\nexemption = ["Y932"]\n', encoding="utf-8")
    with running_service(tmp_path, sad_mapping_file=str(mapping)) as service:
        yield service


def test_an_exemption_code_the_country_has_not_adopted_gets_nothing_through(tmp_path):
    with running_service(tmp_path) as service:
        response = post(service, sad("CLAIM-1", keep_permit=False))
        assert payload(response).findtext(f"{{{NS}}}Decision") == "HELD"
        assert first_item(response) == ("HELD", ["NO_PERMIT_REFERENCED"], [])
        assert service.remaining("26NA000123") == "40"


def test_an_adopted_exemption_is_not_concerned_flagged_and_touches_no_permit(adopted):
    response = post(adopted, sad("CLAIM-2", keep_permit=False))
    assert first_item(response) == ("NOT_CONCERNED", [], ["EXEMPTION_CLAIMED"])
    assert adopted.remaining("26NA000123") == "40"


def test_a_permit_cited_beside_a_claim_is_written_off_as_usual(adopted):
    response = post(adopted, sad("CLAIM-3", keep_permit=True))
    assert first_item(response) == ("MATCHED", [], [])
    assert adopted.remaining("26NA000123") == "0"
