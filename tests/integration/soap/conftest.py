"""A real clearance service on loopback for each test: waitress in a thread, a fresh SQLite
ledger with the sample Namibian permits, and zeep clients built from the served WSDL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from lxml import etree

from cites_connector.adapters.soap.clearance_client import ClearanceClient
from cites_connector.adapters.soap.envelope import SOAP11_NS
from cites_connector.adapters.soap.schema import NS, xml_schema
from cites_connector.adapters.soap.users import parse_users
from cites_connector.adapters.soap.waitress_server import SoapServer
from cites_connector.adapters.soap.wsgi import ClearanceWsgiApp
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.serving import build_soap_app, build_soap_server
from cites_connector.app.settings import load_settings
from cites_connector.domain.units import format_decimal
from cites_connector.mappings.permit_json import parse_permit_list

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_SAD = (ROOT / "examples" / "sad-export-WDHA-E1042.xml").read_bytes()
SAMPLE_PERMITS = (ROOT / "examples" / "permits-namibia.json").read_bytes()
USERS = {"customs": "s3cret:pw", "backup": "other"}
#: inside the sample permits' validity, so balances do not depend on the day the tests run
CLOCK = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@dataclass
class Service:
    url: str
    app: Application
    wsgi: ClearanceWsgiApp
    server: SoapServer

    @property
    def endpoint(self) -> str:
        return f"{self.url}/soap/clearance"

    @property
    def wsdl(self) -> str:
        return f"{self.endpoint}?wsdl"

    def client(
        self, user: str | None = "customs", password: str | None = None, digest: bool = False
    ) -> ClearanceClient:
        if user is not None and password is None:
            password = USERS[user]
        return ClearanceClient(self.wsdl, user, password, digest=digest, timeout=10)

    def remaining(self, number: str, letter: str = "A") -> str:
        """The ledger's own figure, read beside the service."""
        balance = self.app.permits.balance(number, "NA")
        return format_decimal(balance.permit.line(letter).remaining)

    def post(
        self,
        body: bytes,
        action: str = "CheckDeclaration",
        content_type: str = "text/xml; charset=utf-8",
    ) -> requests.Response:
        return requests.post(
            self.endpoint,
            data=body,
            timeout=10,
            headers={"Content-Type": content_type, "SOAPAction": action},
        )


@contextmanager
def running_service(
    tmp_path: Path,
    *,
    auth: bool = True,
    permits: bool = True,
    users: str | None = None,
    host: str = "127.0.0.1",
    **overrides,
) -> Iterator[Service]:
    """``users``: a CONNECTOR_SOAP_USERS value (roles, offices); default: ``USERS``, every
    role and office."""
    spec = users if users is not None else ",".join(f"{u}:{p}" for u, p in USERS.items())
    settings = load_settings(
        home_country="NA",
        data_dir=tmp_path / "var",
        soap_users=spec,
        soap_auth="on" if auth else "off",
        **overrides,
    )
    app = build_application(settings, clock=lambda: CLOCK)
    if permits:
        upgrade(app.engine)
        for permit in parse_permit_list(SAMPLE_PERMITS):
            app.permits.apply(permit)
    wsgi = build_soap_app(
        app,
        users=(parse_users(spec) if users is not None else USERS) if auth else None,
        auth=auth,
    )
    server = build_soap_server(settings, wsgi, threads=4, host=host, port=0).start()
    try:
        yield Service(server.url, app, wsgi, server)
    finally:
        server.stop(grace=5)
        wsgi.health.close()
        app.close()


@pytest.fixture
def service(tmp_path):
    with running_service(tmp_path) as running:
        yield running


@pytest.fixture
def open_service(tmp_path):
    """Authentication switched off (CONNECTOR_SOAP_AUTH=off)."""
    with running_service(tmp_path, auth=False) as running:
        yield running


# -- raw envelopes, for what zeep would never send -------------------------------------------


def wsse_text(user: str = "customs", password: str | None = None) -> str:
    password = USERS[user] if password is None else password
    return (
        '<soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security></soap:Header>"
    )


def envelope(body: str, header: str | None = None) -> bytes:
    header = wsse_text() if header is None else header
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11_NS}" '
        f'xmlns:c="{NS}">{header}<soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def check_request(declaration_id: str, sad: bytes = SAMPLE_SAD, version: int = 1) -> str:
    text = sad.decode("utf-8")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :]
    return (
        f"<c:CheckDeclarationRequest><c:DeclarationId>{declaration_id}</c:DeclarationId>"
        f"<c:Version>{version}</c:Version><c:Declaration>{text}</c:Declaration>"
        "</c:CheckDeclarationRequest>"
    )


def fault_of(response: requests.Response) -> tuple[str, str, str]:
    """(faultcode as a Clark-notation QName's local part after resolving, faultstring, detail
    code); asserts the HTTP status and that faultcode's prefix is the SOAP 1.1 envelope's."""
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    node = root.find(f"{{{SOAP11_NS}}}Body/{{{SOAP11_NS}}}Fault")
    assert node is not None, response.text
    raw = node.findtext("faultcode")
    prefix, _, local = raw.partition(":")
    assert node.nsmap[prefix] == SOAP11_NS
    return (
        local,
        node.findtext("faultstring"),
        node.findtext(f"detail/{{{NS}}}FaultDetail/{{{NS}}}Code"),
    )


def body_payload(response: requests.Response) -> etree._Element:
    root = etree.fromstring(response.content)
    return root.find(f"{{{SOAP11_NS}}}Body")[0]


def assert_valid(payload: etree._Element) -> None:
    schema = xml_schema()
    assert schema.validate(payload), schema.error_log.last_error
