"""Reading a SOAP 1.1 envelope from untrusted bytes.

The body is parsed by ``cites_connector.mappings.safe_xml.parse_xml``, the same hardened parser
the SAD mapping uses: size checked first (``Client.TooLarge``), any DOCTYPE refused before libxml2
reads an entity declaration (XXE, billion laughs), no network. SOAP 1.2 is refused with the
SOAP 1.1 ``VersionMismatch`` fault (SOAP 1.1 section 4.4.1; SOAP 1.2 appendix A), which is what
a SOAP stack expects from a 1.1-only node; the message says which envelope to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from cites_connector.adapters.soap.headers import (
    SOAP11_NS,
    MustUnderstand,
    RequestHeaders,
    read_headers,
)
from cites_connector.domain.errors import ConnectorError, InvalidInput
from cites_connector.mappings.safe_xml import parse_xml

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "Envelope",
    "MustUnderstand",
    "NotAnEnvelope",
    "VersionMismatch",
    "read_envelope",
]

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"


class VersionMismatch(ConnectorError):
    fault_code = "VersionMismatch"
    exit_code = 2


class NotAnEnvelope(InvalidInput):
    """Well-formed XML that is not a SOAP envelope (fault ``Client.SchemaViolation``)."""


@dataclass(frozen=True)
class Envelope:
    #: the header blocks addressed to this service, read (``headers.read_headers``)
    headers: RequestHeaders
    #: the one element inside soap:Body: ``{urn:cites-connector:clearance:1}OpRequest``
    payload: etree._Element


def read_envelope(data: bytes, *, max_bytes: int, encoding: str | None = None) -> Envelope:
    """``encoding``: the HTTP charset, for a body whose XML does not name its own."""
    root = parse_xml(data, max_bytes=max_bytes, encoding=encoding)
    name = etree.QName(root)
    if name.localname != "Envelope" or name.namespace not in (SOAP11_NS, SOAP12_NS):
        if name.localname == "Envelope":
            raise VersionMismatch(
                f"the envelope namespace {name.namespace!r} is not SOAP 1.1: "
                f"this service speaks SOAP 1.1 ({SOAP11_NS})"
            )
        raise NotAnEnvelope(
            f"the request is not a SOAP envelope: root element is "
            f"{name.localname!r}, expected {{{SOAP11_NS}}}Envelope"
        )
    if name.namespace == SOAP12_NS:
        raise VersionMismatch(
            "SOAP 1.2 envelopes are not supported: this service speaks "
            f"SOAP 1.1 (envelope namespace {SOAP11_NS}, Content-Type text/xml)"
        )
    header = root.find(f"{{{SOAP11_NS}}}Header")
    body = root.find(f"{{{SOAP11_NS}}}Body")
    if body is None:
        raise NotAnEnvelope("the SOAP envelope has no Body")
    headers = read_headers(header)
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise NotAnEnvelope(
            f"the SOAP Body must hold exactly one request element, found {len(children)}"
        )
    return Envelope(headers, children[0])
