"""The served WSDL and XSD, /healthz, and a database outage (contract sections 1 and 9)."""

from __future__ import annotations

import socket
from importlib.metadata import version

import pytest
import requests
from lxml import etree
from zeep import Client

from cites_connector.adapters.soap.clearance_client import ClearanceFault
from cites_connector.adapters.soap.schema import WSDL_FILE, XSD_FILE
from tests.integration.soap.conftest import SAMPLE_SAD, running_service

WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"


def served(url: str) -> etree._Element:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return etree.fromstring(response.content)


def test_the_wsdl_names_the_address_it_was_fetched_from(service):
    wsdl = served(service.wsdl)
    assert wsdl.find(f".//{{{WSDL_SOAP}}}address").get("location") == service.endpoint
    imported = wsdl.find(f".//{{{XS}}}import").get("schemaLocation")
    assert imported == f"{service.endpoint}?xsd=clearance.xsd"
    assert requests.get(imported, timeout=10).content == XSD_FILE.read_bytes()


def test_the_served_wsdl_differs_from_the_repository_file_only_in_addresses(service):
    wsdl = served(service.wsdl)
    original = etree.parse(str(WSDL_FILE)).getroot()
    for tree in (wsdl, original):
        tree.find(f".//{{{WSDL_SOAP}}}address").set("location", "X")
        tree.find(f".//{{{XS}}}import").set("schemaLocation", "Y")
    assert etree.tostring(wsdl) == etree.tostring(original)


def test_zeep_reads_the_served_wsdl_with_four_operations(service):
    client = Client(service.wsdl)
    port = client.wsdl.services["ClearanceService"].ports["ClearancePort"]
    assert sorted(port.binding._operations) == [
        "CancelDeclaration",
        "CheckDeclaration",
        "GetDecision",
        "GetPermitBalance",
    ]
    assert {op: port.binding._operations[op].soapaction for op in port.binding._operations} == {
        op: op for op in port.binding._operations
    }


def test_a_configured_public_url_is_the_wsdl_address(tmp_path):
    public = "https://customs-gw.example.na/cites/soap/clearance"
    with running_service(tmp_path, soap_public_url=public) as service:
        wsdl = served(service.wsdl)
    assert wsdl.find(f".//{{{WSDL_SOAP}}}address").get("location") == public


def test_the_repository_wsdl_loads_from_a_path_without_network():
    client = Client(str(WSDL_FILE))
    assert "CheckDeclaration" in dir(client.service)


def test_healthz_is_200_when_the_database_answers(service):
    response = requests.get(f"{service.url}/healthz", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "version": body["version"], "checks": {"database": "ok"}}
    assert body["version"] == version("cites-connector")


def test_the_baseline_route_is_off_unless_asked_for(service):
    assert requests.post(f"{service.url}/bench/baseline", data=b"x", timeout=10).status_code == 404


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def outage(tmp_path):
    """The service with its ledger on a PostgreSQL URL where nothing listens."""
    url = f"postgresql+psycopg://cites:pw@127.0.0.1:{closed_port()}/cites"
    with running_service(tmp_path, permits=False, database_url=url) as running:
        yield running


def test_healthz_is_503_when_the_database_is_down(outage):
    response = requests.get(f"{outage.url}/healthz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["database"] != "ok"


@pytest.mark.parametrize("call", ["check", "balance", "decision"])
def test_a_database_outage_is_server_unavailable(outage, call):
    client = outage.client()
    calls = {
        "check": lambda: client.check_declaration("OUT-1", 1, SAMPLE_SAD),
        "balance": lambda: client.get_permit_balance("26NA000123"),
        "decision": lambda: client.get_decision("OUT-1"),
    }
    with pytest.raises(ClearanceFault) as refused:
        calls[call]()
    assert refused.value.code == "Server.Unavailable"
    assert "not reachable" in refused.value.message
    assert requests.get(f"{outage.url}/healthz", timeout=10).status_code == 503
