"""Issue 9, item 6, over the wire: CheckDeclaration and CancelDeclaration of one declaration,
interleaved from many HTTP clients, on SQLite and on PostgreSQL.

Whatever the order the requests are served in, the declaration ends either cleared with the
usages of its latest version on the ledger, or cancelled with none; each answer is a decision,
``Client.DeclarationCancelled``, ``Client.StaleVersion`` or, before the first check,
``Client.UnknownDeclaration`` — never a server fault (a deadlock would be ``Server.*``).
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from lxml import etree

from cites_connector.adapters.soap.envelope import SOAP11_NS
from tests.hostile.clearance_kit import edited_sad, soap_service, warm_up
from tests.integration.soap.conftest import check_request, envelope

QUANTITY = "Item/Tarification/Supplementary_unit/Suppplementary_unit_quantity"
EXPECTED_FAULTS = {
    "Client.DeclarationCancelled",
    "Client.StaleVersion",
    "Client.UnknownDeclaration",
}


def outcome(response: requests.Response) -> str:
    root = etree.fromstring(response.content)
    payload = root.find(f"{{{SOAP11_NS}}}Body")[0]
    if payload.tag == f"{{{SOAP11_NS}}}Fault":
        return payload.findtext("faultcode").split(":", 1)[1]
    return etree.QName(payload).localname


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_check_and_cancel_interleaved_leave_either_usages_or_a_cancellation(
    tmp_path, request, database
):
    overrides = (
        {} if database == "sqlite" else {"database_url": request.getfixturevalue("postgres_url")}
    )
    # version n declares n pythons, on the sample's multiple-use skins permit and single pythons one
    versions = {n: edited_sad({QUANTITY: str(n)}) for n in (1, 2, 3)}
    cancel = envelope(
        "<c:CancelDeclarationRequest><c:DeclarationId>RACE-1</c:DeclarationId>"
        "<c:Reason>race</c:Reason></c:CancelDeclarationRequest>"
    )
    rng = random.Random(3)
    calls = [("CheckDeclaration", envelope(check_request("RACE-1", versions[1], 1)))]
    for _ in range(31):
        if rng.random() < 0.4:
            calls.append(("CancelDeclaration", cancel))
        else:
            n = rng.choice((1, 2, 3))
            calls.append(("CheckDeclaration", envelope(check_request("RACE-1", versions[n], n))))
    rng.shuffle(calls)

    with soap_service(tmp_path, **overrides) as service:
        warm_up(service.endpoint)
        local = threading.local()

        def send(call) -> str:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            action, body = call
            return outcome(
                session.post(
                    service.endpoint,
                    data=body,
                    timeout=30,
                    headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
                )
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, calls))
        shown = service.client().get_decision("RACE-1")
        with service.app.ledger.snapshot() as session:
            usages = session.usages.find(declaration_id="RACE-1")
            pythons = session.permits.get("26NA000123", "NA")

    assert (
        set(answers) <= {"CheckDeclarationResponse", "CancelDeclarationResponse"} | EXPECTED_FAULTS
    ), answers
    if shown["Decision"] == "CANCELLED":
        assert usages == [] and pythons.used_by is None
        assert pythons.lines[0].remaining == 40
    else:
        assert shown["Decision"] == "CLEARED"
        assert {u.declaration_version for u in usages} == {shown["Version"]}
        assert len(usages) == 2 and pythons.used_by == "RACE-1"
        assert pythons.lines[0].remaining == 40 - shown["Version"]
