"""SOAP header blocks: which are ours, which must be understood, and what the reply carries.

SOAP 1.1 section 4.2.2: a header block whose ``soap:actor`` names another node (an
intermediary, a gateway) is not addressed to this service and is ignored, also when it is
marked ``mustUnderstand="1"``; a block with no actor, or the actor ``.../soap/actor/next``,
is ours, and if we do not understand one marked mustUnderstand the request gets the
``MustUnderstand`` fault (section 4.2.3). Understood: ``wsse:Security`` and the WS-Addressing
headers (W3C 1.0 and the 2004 member submissions). A request over HTTP is answered on the same
connection, so ``wsa:ReplyTo`` changes nothing; the reply carries ``wsa:RelatesTo`` (the
request's ``wsa:MessageID``) and ``wsa:Action``, as WCF and Metro clients expect
(WS-Addressing 1.0 SOAP Binding, section 3), and a ``wsu:Timestamp`` when the request's
Security header had one (contract section 1, v2).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from cites_connector.adapters.soap.wss_time import (
    TIMESTAMP,
    AuthenticationFailed,
    response_timestamp,
)
from cites_connector.adapters.soap.wssecurity import SECURITY, WSSE_NS
from cites_connector.domain.errors import ConnectorError

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
WSA_NAMESPACES = frozenset(
    {
        "http://www.w3.org/2005/08/addressing",
        "http://schemas.xmlsoap.org/ws/2004/08/addressing",
        "http://schemas.xmlsoap.org/ws/2004/03/addressing",
    }
)
_WSA_FAULT_ACTION = {
    "http://www.w3.org/2005/08/addressing": "http://www.w3.org/2005/08/addressing/soap/fault"
}
_ACTOR = f"{{{SOAP11_NS}}}actor"
_MUST_UNDERSTAND = f"{{{SOAP11_NS}}}mustUnderstand"


class MustUnderstand(ConnectorError):
    fault_code = "MustUnderstand"
    exit_code = 2


@dataclass(frozen=True)
class RequestHeaders:
    """What the reply needs to know about the request's headers."""

    security: etree._Element | None = None
    timestamp: bool = False
    wsa_namespace: str | None = None
    wsa_message_id: str | None = None
    wsa_action: str | None = None


def _ours(block: etree._Element) -> bool:
    actor = (block.get(_ACTOR) or "").strip()
    return actor in ("", ACTOR_NEXT)


def _understood(block: etree._Element) -> bool:
    return block.tag == SECURITY or etree.QName(block).namespace in WSA_NAMESPACES


def read_headers(header: etree._Element | None) -> RequestHeaders:
    if header is None:
        return RequestHeaders()
    blocks = [b for b in header if isinstance(b.tag, str) and _ours(b)]
    for block in blocks:
        if block.get(_MUST_UNDERSTAND, "").strip() in ("1", "true") and not _understood(block):
            raise MustUnderstand(
                f"header block {block.tag} is marked mustUnderstand and "
                "this service does not process it"
            )
    security = [b for b in blocks if b.tag == SECURITY]
    if len(security) > 1:
        raise AuthenticationFailed(
            "the request has more than one wsse:Security header for this service"
        )
    wsa = [b for b in blocks if etree.QName(b).namespace in WSA_NAMESPACES]
    namespace = etree.QName(wsa[0]).namespace if wsa else None

    def wsa_text(name: str) -> str | None:
        found = next((b for b in wsa if b.tag == f"{{{namespace}}}{name}"), None)
        if found is None:
            return None
        return (found.text or "").strip() or None

    return RequestHeaders(
        security=security[0] if security else None,
        timestamp=bool(security) and security[0].find(TIMESTAMP) is not None,
        wsa_namespace=namespace,
        wsa_message_id=wsa_text("MessageID"),
        wsa_action=wsa_text("Action"),
    )


def reply_header(
    request: RequestHeaders, operation: str | None, now: float, fault: bool
) -> etree._Element | None:
    """The reply's soap:Header, or None when the request asked for nothing."""
    if not request.timestamp and request.wsa_namespace is None:
        return None
    header = etree.Element(f"{{{SOAP11_NS}}}Header")
    ns = request.wsa_namespace
    if ns is not None:
        action = (
            _WSA_FAULT_ACTION.get(ns, f"{ns}/fault")
            if fault
            else (
                f"{request.wsa_action}Response"
                if request.wsa_action
                else f"{operation or ''}Response"
            )
        )
        etree.SubElement(header, f"{{{ns}}}Action", nsmap={"wsa": ns}).text = action
        if request.wsa_message_id:
            etree.SubElement(
                header, f"{{{ns}}}RelatesTo", nsmap={"wsa": ns}
            ).text = request.wsa_message_id
    if request.timestamp:
        security = etree.SubElement(header, SECURITY, nsmap={"wsse": WSSE_NS})
        security.set(_MUST_UNDERSTAND, "1")
        security.append(response_timestamp(now))
    return header
