"""Behind a TLS reverse proxy (docs/reverse-proxy.md): X-Forwarded-* are believed only from
the configured proxy, and then the WSDL names the public https address."""

from __future__ import annotations

import requests
from lxml import etree

from tests.integration.soap.conftest import running_service

WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "customs-gw.example.na",
    "X-Forwarded-For": "196.44.1.20",
}


def address(url: str) -> str:
    response = requests.get(url, headers=FORWARDED, timeout=10)
    assert response.status_code == 200
    return etree.fromstring(response.content).find(f".//{{{WSDL_SOAP}}}address").get("location")


def test_forwarded_headers_from_the_trusted_proxy_name_the_public_address(tmp_path):
    with running_service(tmp_path, soap_trusted_proxy="127.0.0.1") as service:
        assert address(service.wsdl) == "https://customs-gw.example.na/soap/clearance"


def test_forwarded_headers_from_anyone_else_are_ignored(tmp_path):
    with running_service(tmp_path) as service:
        assert address(service.wsdl) == service.endpoint
