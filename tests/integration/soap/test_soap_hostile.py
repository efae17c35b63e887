"""Hostile and broken requests over real HTTP: each gets its Fault, the ledger is unchanged
and the service keeps answering."""

from __future__ import annotations

import pytest

from cites_connector.adapters.soap.envelope import SOAP12_NS
from tests.integration.soap.conftest import (
    SAMPLE_SAD,
    check_request,
    envelope,
    fault_of,
    running_service,
    wsse_text,
)

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
LIMIT = 64 * 1024


def doctype_envelope(doctype: str, entity_use: str) -> bytes:
    body = check_request("HOSTILE-1").replace(
        "<Commodity_code>01062000<", f"<Commodity_code>01062000{entity_use}<", 1
    )
    return (
        f'<?xml version="1.0"?>{doctype}<soap:Envelope xmlns:soap="{SOAP11}" '
        f'xmlns:c="urn:cites-connector:clearance:1">{wsse_text()}<soap:Body>{body}'
        "</soap:Body></soap:Envelope>"
    ).encode()


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)

HOSTILE = {
    "xxe": (
        doctype_envelope('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
        "Client.MalformedXml",
        "DTD",
    ),
    "external dtd": (
        doctype_envelope('<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">', ""),
        "Client.MalformedXml",
        "DTD",
    ),
    "billion laughs": (doctype_envelope(LAUGHS, "&lol9;"), "Client.MalformedXml", "DTD"),
    "not well-formed": (
        envelope(check_request("H-2"))[:-30],
        "Client.MalformedXml",
        "not well-formed",
    ),
    "non-UTF-8 bytes": (
        envelope(check_request("H-3")).replace(
            b"LIVE ROYAL PYTHONS", "LIVE ROYAL PYTHONS \u00e9".encode("latin-1")
        ),
        "Client.MalformedXml",
        "UTF-8",
    ),
    "request in a wrong namespace": (
        envelope(
            check_request("H-4").replace(
                "<c:CheckDeclarationRequest>",
                '<c:CheckDeclarationRequest xmlns:c="urn:example:other">',
            )
        ),
        "Client.SchemaViolation",
        "unknown request element",
    ),
    "unknown operation": (
        envelope("<c:ApproveEverythingRequest/>"),
        "Client.SchemaViolation",
        "unknown request element",
    ),
    "not a SOAP envelope": (SAMPLE_SAD, "Client.SchemaViolation", "not a SOAP envelope"),
    "SOAP 1.2 envelope": (
        envelope(check_request("H-5")).replace(SOAP11.encode(), SOAP12_NS.encode()),
        "VersionMismatch",
        "SOAP 1.1",
    ),
    "unknown mustUnderstand header": (
        envelope(
            check_request("H-6"),
            wsse_text()[:-14] + '<x:Route xmlns:x="urn:x" soap:mustUnderstand="1"/></soap:Header>',
        ),
        "MustUnderstand",
        "urn:x",
    ),
}


@pytest.fixture
def small_service(tmp_path):
    with running_service(tmp_path, max_request_bytes=LIMIT) as running:
        yield running


def assert_untouched(service) -> None:
    client = service.client()
    assert client.get_permit_balance("26NA000123")["Lines"][0]["Remaining"] == 40
    assert service.remaining("26NA000131") == "50"


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_request_gets_its_fault_and_changes_nothing(small_service, name):
    body, expected, says = HOSTILE[name]
    code, message, detail = fault_of(small_service.post(body))
    assert code == detail == expected
    assert says in message
    assert_untouched(small_service)


def test_a_body_over_the_limit_is_too_large(small_service):
    padding = "<!--" + "x" * LIMIT + "-->"
    code, message, _ = fault_of(small_service.post(envelope(check_request("BIG-1") + padding)))
    assert code == "Client.TooLarge" and str(LIMIT) in message
    assert_untouched(small_service)


def test_a_chunked_body_over_the_limit_is_too_large(small_service):
    import requests

    def chunks():
        yield envelope(check_request("BIG-2"))[:-40]
        for _ in range(20):
            yield b"<!--" + b"y" * 8192 + b"-->"

    response = requests.post(
        small_service.endpoint,
        data=chunks(),
        timeout=10,
        headers={"Content-Type": "text/xml", "SOAPAction": "x"},
    )
    code, _, _ = fault_of(response)
    assert code == "Client.TooLarge"
    assert_untouched(small_service)


def test_an_iso_8859_1_document_that_says_so_is_read(small_service):
    body = envelope(check_request("LATIN-1")).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    body = body.replace(b"LIVE ROYAL PYTHONS", "LIVE ROYAL PYTHONS \u00e9".encode("latin-1"))
    assert small_service.post(body).status_code == 200
