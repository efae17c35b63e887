"""Raw SOAP requests against the real service on loopback, for the hostile tests.

zeep never sends what an attacker sends (a replayed nonce re-spelt, an expired Timestamp, a
gzip body), so these tests write envelopes by hand and post them with ``requests``; the
service is the one the integration tests run (``tests/integration/soap/conftest.py``):
waitress on a free loopback port, a real ledger (SQLite file or PostgreSQL) with the sample
Namibian permits.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime, timedelta

import requests
from lxml import etree

from cites_connector.adapters.soap.envelope import SOAP11_NS
from cites_connector.adapters.soap.schema import NS
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.soap.conftest import (
    SAMPLE_SAD,
    USERS,
    check_request,
    envelope,
    fault_of,
    running_service,
    wsse_text,
)

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
BALANCE = (
    "<c:GetPermitBalanceRequest><c:PermitNumber>26NA000123</c:PermitNumber>"
    "</c:GetPermitBalanceRequest>"
)


def utc(seconds_from_now: float = 0.0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fresh_nonce() -> bytes:
    return os.urandom(16)


def digest_header(
    nonce: bytes,
    nonce_text: str | None = None,
    *,
    user: str = "customs",
    created: str | None = None,
    timestamp: str = "",
) -> str:
    """A PasswordDigest UsernameToken; ``nonce_text`` spells ``nonce`` (default: canonical
    Base64); ``timestamp`` is extra XML put before the token (a wsu:Timestamp)."""
    created = created or utc()
    digest = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + USERS[user].encode()).digest()
    ).decode()
    text = base64.b64encode(nonce).decode() if nonce_text is None else nonce_text
    return (
        f'<soap:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}">{timestamp}'
        f"<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST}">{digest}</wsse:Password>'
        f"<wsse:Nonce>{text}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security></soap:Header>"
    )


def timestamp(created: str, expires: str | None = None) -> str:
    end = f"<wsu:Expires>{expires}</wsu:Expires>" if expires else ""
    return f'<wsu:Timestamp wsu:Id="TS-1"><wsu:Created>{created}</wsu:Created>{end}</wsu:Timestamp>'


def text_header_with_timestamp(stamp: str, user: str = "customs") -> str:
    return (
        wsse_text(user)
        .replace("<wsse:UsernameToken>", stamp + "<wsse:UsernameToken>", 1)
        .replace("<wsse:Security ", f'<wsse:Security xmlns:wsu="{WSU}" ', 1)
    )


def post(
    service, body: bytes, action: str = "CheckDeclaration", **headers: str
) -> requests.Response:
    sent = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action, **headers}
    return requests.post(service.endpoint, data=body, headers=sent, timeout=10)


def refused(response: requests.Response, code: str, status: int = 500) -> str:
    """Assert the exact fault code (faultcode and detail) and HTTP status; the faultstring."""
    if status != 500:
        assert response.status_code == status, response.text
        response.status_code = 500  # fault_of checks the SOAP 1.1 status otherwise
    got, message, detail = fault_of(response)
    assert (got, detail) == (code, code), message
    return message


def payload(response: requests.Response) -> etree._Element:
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content).find(f"{{{SOAP11_NS}}}Body")[0]


def decision_of(response: requests.Response) -> str:
    return payload(response).findtext(f"{{{NS}}}Decision")


__all__ = [
    "BALANCE",
    "SAMPLE_SAD",
    "check_request",
    "decision_of",
    "digest_header",
    "envelope",
    "fresh_nonce",
    "ledger_dump",
    "payload",
    "post",
    "refused",
    "running_service",
    "text_header_with_timestamp",
    "timestamp",
    "utc",
    "wsse_text",
]
