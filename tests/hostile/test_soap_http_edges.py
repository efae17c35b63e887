"""Issue 9, item 18: what real SOAP clients and gateways send (contract section 1, v2).

Compressed bodies and foreign media types get ``Client.UnsupportedMedia`` with HTTP 415 and
change nothing; a charset named only by the HTTP header is honoured; header blocks for another
``soap:actor`` and WS-Addressing headers never cause a MustUnderstand fault; an HTTP/1.0
request without ``Host`` gets a WSDL naming a real address.
"""

from __future__ import annotations

import bz2
import gzip
import socket
import zlib

import pytest
from lxml import etree

from tests.hostile.soap_kit import (
    BALANCE,
    check_request,
    decision_of,
    envelope,
    ledger_dump,
    post,
    refused,
    running_service,
    wsse_text,
)

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("edges")) as running:
        yield running


def body(declaration_id: str) -> bytes:
    return envelope(check_request(declaration_id))


UNSUPPORTED = {
    "gzip with Content-Encoding": (gzip.compress(body("ZIP-1")), {"Content-Encoding": "gzip"}),
    "gzip sent as plain text/xml": (gzip.compress(body("ZIP-2")), {}),
    "deflate with Content-Encoding": (
        zlib.compress(body("ZIP-3")),
        {"Content-Encoding": "deflate"},
    ),
    "zlib sent as plain text/xml": (zlib.compress(body("ZIP-4")), {}),
    "bzip2 sent as plain text/xml": (bz2.compress(body("ZIP-5")), {}),
    "br Content-Encoding on plain XML": (body("ZIP-6"), {"Content-Encoding": "br"}),
    "gzip Content-Encoding on plain XML": (body("ZIP-7"), {"Content-Encoding": "gzip"}),
    "application/json": (body("TYPE-1"), {"Content-Type": "application/json"}),
    "text/plain": (body("TYPE-2"), {"Content-Type": "text/plain; charset=utf-8"}),
    "form-urlencoded": (body("TYPE-3"), {"Content-Type": "application/x-www-form-urlencoded"}),
    "multipart (MTOM)": (
        body("TYPE-4"),
        {"Content-Type": 'multipart/related; type="application/xop+xml"'},
    ),
    "an unknown charset": (body("TYPE-5"), {"Content-Type": "text/xml; charset=x-klingon"}),
}


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_a_compressed_or_foreign_body_is_unsupported_media(service, case):
    data, headers = UNSUPPORTED[case]
    before = ledger_dump(service.app.engine)
    message = refused(post(service, data, **headers), "Client.UnsupportedMedia", status=415)
    assert "text/xml" in message or "uncompressed" in message or "UTF-8" in message
    assert ledger_dump(service.app.engine) == before


def test_soap_plus_xml_content_type_is_read(service):
    response = post(
        service,
        envelope(BALANCE),
        "GetPermitBalance",
        **{"Content-Type": 'application/soap+xml; charset=utf-8; action="GetPermitBalance"'},
    )
    assert response.status_code == 200, response.text


def test_a_charset_given_only_in_the_http_header_is_honoured(service):
    text = envelope(check_request("LATIN-HDR")).decode("utf-8")
    text = text[text.index("?>") + 2 :]  # no XML declaration: only the header names it
    text = text.replace("LIVE ROYAL PYTHONS", "LIVE ROYAL PYTHONS (Python régius, Côte)")
    response = post(
        service, text.encode("iso-8859-1"), **{"Content-Type": "text/xml; charset=ISO-8859-1"}
    )
    assert decision_of(response) == "CLEARED"
    stored = service.app.clearance.stored("LATIN-HDR").declaration
    assert "Python régius, Côte" in stored.items[0].description


def test_the_xml_declaration_wins_over_the_http_charset(service):
    data = body("LATIN-DECL").replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    data = data.replace(b"LIVE ROYAL PYTHONS", "LIVE ROYAL PYTHONS \u00e9".encode("latin-1"))
    assert post(service, data).status_code == 200  # the header still says utf-8
    stored = service.app.clearance.stored("LATIN-DECL").declaration
    assert "PYTHONS \u00e9 (" in stored.items[0].description


def header_with(block: str) -> str:
    return wsse_text()[: -len("</soap:Header>")] + block + "</soap:Header>"


def test_must_understand_for_another_actor_is_ignored(service):
    block = (
        '<x:Route xmlns:x="urn:gateway" soap:mustUnderstand="1" '
        'soap:actor="urn:gateway:next-hop">hop-2</x:Route>'
    )
    response = post(service, envelope(BALANCE, header_with(block)), "GetPermitBalance")
    assert response.status_code == 200, response.text


def test_must_understand_addressed_to_us_is_still_enforced(service):
    block = (
        '<x:Route xmlns:x="urn:gateway" soap:mustUnderstand="1" '
        'soap:actor="http://schemas.xmlsoap.org/soap/actor/next"/>'
    )
    before = ledger_dump(service.app.engine)
    refused(post(service, envelope(check_request("MU-1"), header_with(block))), "MustUnderstand")
    assert ledger_dump(service.app.engine) == before


def test_a_security_header_for_another_actor_does_not_authenticate(service):
    security = wsse_text()[len("<soap:Header>") : -len("</soap:Header>")].replace(
        "<wsse:Security ", '<wsse:Security soap:actor="urn:gateway" ', 1
    )
    before = ledger_dump(service.app.engine)
    refused(
        post(service, envelope(check_request("ACTOR-1"), f"<soap:Header>{security}</soap:Header>")),
        "Client.Authentication",
    )
    assert ledger_dump(service.app.engine) == before


def test_ws_addressing_headers_marked_must_understand_are_understood(service):
    addressing = (
        f'<wsa:Action xmlns:wsa="{WSA}" soap:mustUnderstand="1">GetPermitBalance'
        f'</wsa:Action><wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:6b1c0f1e-1</wsa:MessageID>'
        f'<wsa:To xmlns:wsa="{WSA}" soap:mustUnderstand="1">http://127.0.0.1/soap/clearance'
        f'</wsa:To><wsa:ReplyTo xmlns:wsa="{WSA}"><wsa:Address>{WSA}/anonymous'
        "</wsa:Address></wsa:ReplyTo>"
    )
    response = post(service, envelope(BALANCE, header_with(addressing)), "GetPermitBalance")
    assert response.status_code == 200, response.text
    header = etree.fromstring(response.content).find(f"{{{SOAP11}}}Header")
    assert header.findtext(f"{{{WSA}}}RelatesTo") == "urn:uuid:6b1c0f1e-1"
    assert header.findtext(f"{{{WSA}}}Action") == "GetPermitBalanceResponse"


def raw_get(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def wsdl_address(response: bytes) -> str:
    head, _, content = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
    return etree.fromstring(content).find(f".//{{{WSDL_SOAP}}}address").get("location")


def test_an_http_1_0_request_without_host_gets_the_listen_address(service):
    port = service.server.port
    got = wsdl_address(raw_get(port, b"GET /soap/clearance?wsdl HTTP/1.0\r\n\r\n"))
    assert got == f"http://127.0.0.1:{port}/soap/clearance"


def test_without_host_the_configured_public_url_is_named(tmp_path):
    public = "https://customs-gw.example.na/cites/soap/clearance"
    with running_service(tmp_path, soap_public_url=public) as running:
        got = wsdl_address(
            raw_get(running.server.port, b"GET /soap/clearance?wsdl HTTP/1.0\r\n\r\n")
        )
    assert got == public
