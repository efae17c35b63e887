"""The service's WSDL and XSD: read once from the repository, validated against, served.

Requests are validated against the same XSD the WSDL imports, so what a client reads in the
WSDL is exactly what the service accepts. Served copies differ from the files only in two
addresses: ``soap:address`` (the URL the WSDL was fetched from, or the configured public URL)
and the schema import, which points back at the service (``?xsd=clearance.xsd``) so that zeep
and SoapUI load the WSDL over HTTP unchanged.
"""

from __future__ import annotations

import copy
import re
import threading
from functools import lru_cache
from pathlib import Path

from lxml import etree

from cites_connector.domain.errors import InvalidInput

NS = "urn:cites-connector:clearance:1"
WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
WSDL_FILE = WSDL_DIR / "clearance.wsdl"
XSD_NAME = "clearance.xsd"
XSD_FILE = WSDL_DIR / XSD_NAME

_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
_WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
_XS_NS = "http://www.w3.org/2001/XMLSchema"


class SchemaViolation(InvalidInput):
    """The request does not follow the service's XSD (fault ``Client.SchemaViolation``)."""


@lru_cache(maxsize=1)
def xml_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_FILE), parser))


_validation_lock = threading.Lock()


def validate(element: etree._Element) -> None:
    """Raise ``SchemaViolation`` naming the first error libxml2 found in ``element``.

    libxml2 schema validation contexts are not thread-safe; one lock around a validation of a
    few kilobytes costs far less than a schema per thread.
    """
    with _validation_lock:  # also around the first call: building the schema is not
        schema = xml_schema()  # thread-safe either (concurrent first requests crashed serve)
        valid = schema.validate(element)
        error = schema.error_log.last_error if not valid else None  # type: ignore[attr-defined]  # lxml-stubs lack it
    if error is not None:
        raise SchemaViolation(
            f"the request does not follow the service schema: line "
            f"{error.line}: {readable(error.message)}"
        )


#: what a value of each simple type must look like, for messages
_TYPE_HINTS = {
    "VersionType": "a whole number from 1 to 2147483647 in ASCII digits",
    "CountryType": "an ISO 3166-1 alpha-2 code in capitals, e.g. NA",
    "xs:positiveInteger": "a whole number from 1, in ASCII digits",
}
_ATOMIC = re.compile(r"is not a valid value of the (?:local )?atomic type(?: '([^']*)')?")


def readable(message: str) -> str:
    """libxml2's message in the caller's words: element names without the namespace URI,
    no facet or type jargon (contract section 1, v2: a faultstring shows no schema internals).
    """
    message = message.replace(f"{{{NS}}}", "")
    message = re.sub(r"^Element '([^']*)': ", r"\1: ", message)
    message = re.sub(r"\[facet '[^']*'\] ", "", message)

    def hint(match: re.Match[str]) -> str:
        found = _TYPE_HINTS.get(match.group(1) or "")
        return "is not a valid value" + (f": expected {found}" if found else "")

    return _ATOMIC.sub(hint, message).rstrip(".")


def xsd_bytes() -> bytes:
    return XSD_FILE.read_bytes()


class WsdlDocument:
    """The WSDL as served: one rendering per service address, kept (there are few)."""

    def __init__(self) -> None:
        self._template = etree.parse(
            str(WSDL_FILE),
            etree.XMLParser(
                resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False
            ),
        )
        self._rendered: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def render(self, address: str) -> bytes:
        with self._lock:
            found = self._rendered.get(address)
            if found is None:
                found = self._render(address)
                if len(self._rendered) < 64:  # a client choosing Host headers cannot grow this
                    self._rendered[address] = found
            return found

    def _render(self, address: str) -> bytes:
        tree = copy.deepcopy(self._template)
        for node in tree.iter(f"{{{_WSDL_SOAP_NS}}}address"):
            node.set("location", address)
        for node in tree.iter(f"{{{_XS_NS}}}import"):
            if node.get("schemaLocation") == XSD_NAME:
                node.set("schemaLocation", f"{address}?xsd={XSD_NAME}")
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
