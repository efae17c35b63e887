"""CITES ePermit XML (Electronic Permitting Toolkit v1 and v2) -> the domain ``Permit``.

A permit system may publish a permit as the XML the CITES Toolkit defines instead of the JSON
of contract 3.1, bare or inside the SOAP envelope EPIX returns. The XML is read into the JSON
body and checked by ``permit_json.parse_permit``, so both formats obey one set of rules (ISO
countries, decimal quantities, line letters...). What the XML cannot carry comes from the
message: the version from the AMQP header ``permit-version``, the event from the routing key
(status changes come as JSON, contract 3.1). Every refusal names the XML element at fault,
because it ends up in the ``x-rejection-reason`` header an operator reads in the dead letters.

Choices an integrator can rely on:

- The root's local name chooses the Toolkit version (``CITESEPermit`` v2, ``CBFShip`` v1); its
  namespace, when it has one, must be that version's. Below the root, elements are matched by
  local name only (see ``epermit_paths``).
- Empty elements and ``?`` values are absent. Of repeated elements the first non-empty wins,
  except a line's quantity: two quantities for one line are refused, not guessed between.
- The issuing country is the first signatory's (the issuing Management Authority's) country,
  else the consignor's. ``valid_from`` defaults to the issue date (a permit is valid from the
  day it is issued). A line without an ``ID`` takes its letter from its position (A, B, ...).
- The consignment policy is SINGLE (Art. VI(5)) and the status VALID.

Nothing here does I/O: the document comes in as bytes with the message's header values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from cites_connector.domain.errors import InvalidPermit
from cites_connector.domain.permits import Permit
from cites_connector.mappings import epermit_paths as paths
from cites_connector.mappings.epermit_paths import Toolkit
from cites_connector.mappings.epermit_reader import EPermitReader
from cites_connector.mappings.epermit_signature import (
    SignatureRules,
    Signed,
    Unsigned,
    check_trusted,
    verify_epermit,
)
from cites_connector.mappings.permit_fields import MAX_VERSION
from cites_connector.mappings.permit_json import parse_permit
from cites_connector.mappings.safe_xml import DEFAULT_MAX_BYTES, parse_xml

VERSION_HEADER = "permit-version"
#: routing keys that carry a whole permit; the others (cancelled, ...) are JSON status changes
PERMIT_ROUTING_KEYS = ("permit.issued", "permit.amended")


def parse_epermit(
    data: bytes,
    *,
    version: int | str | bytes | None,
    routing_key: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    signatures: SignatureRules | None = None,
) -> Permit:
    """The permit in an ePermit document, validated like a JSON permit.

    ``version`` is the ``permit-version`` header; ``routing_key`` the event (``None`` for a
    lookup reply). Raises ``TooLarge`` over ``max_bytes``, ``MalformedXml`` for XML that is
    not well-formed or carries a DTD, and ``InvalidPermit`` naming the element at fault.
    ``signatures`` is the signature policy and trust store (mappings/epermit_signature.py;
    None: not looked at): a refusal is ``SignatureRefused``, and only the signed data of a
    signed document is read. The permit records its signer, or that it came unsigned.
    """
    rules = signatures or SignatureRules(policy="off")
    mapped = _read(data, version, routing_key, max_bytes, rules)
    try:
        permit = parse_permit(mapped.body)
    except InvalidPermit as refused:
        raise InvalidPermit(_with_elements(refused.message, mapped.sources)) from None
    checked = mapped.checked
    if isinstance(checked, Signed):
        check_trusted(checked.certificate, permit.issuing_country, rules)
        return replace(permit, signer=checked.signer)
    return replace(permit, unsigned=checked.checked)


def epermit_to_json(
    data: bytes,
    *,
    version: int | str | bytes | None,
    routing_key: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """The contract 3.1 JSON body read from an ePermit, before validation (for tools); the
    signature, if any, is not looked at."""
    return _read(data, version, routing_key, max_bytes, SignatureRules(policy="off")).body


@dataclass(frozen=True)
class _Mapped:
    body: dict[str, Any]
    #: JSON path -> the XML element it was read from, for messages
    sources: dict[str, str]
    #: what the signature check found
    checked: Signed | Unsigned


def _read(
    data: bytes, version: Any, routing_key: str | None, max_bytes: int, rules: SignatureRules
) -> _Mapped:
    _check_routing_key(routing_key)
    number = _version(version)
    root = parse_xml(data, max_bytes=max_bytes)
    document, toolkit, scope = _locate(root)
    checked = verify_epermit(document, rules, scope)
    document = checked.element
    reader = EPermitReader(document, toolkit)
    body = reader.read()
    if reader.problems:
        subject = body.get("permit_number")
        raise InvalidPermit(
            f"{f'permit {subject}' if subject else toolkit.name + ' ePermit'}: "
            + "; ".join(reader.problems)
        )
    sources = reader.sources | {"version": f"AMQP header {VERSION_HEADER}"}
    body = {"permit_number": None, "issuing_country": None, "version": number} | body
    return _Mapped({k: v for k, v in body.items() if v is not None}, sources, checked)


def _check_routing_key(routing_key: str | None) -> None:
    if routing_key is not None and routing_key not in PERMIT_ROUTING_KEYS:
        raise InvalidPermit(
            f"an XML permit may come with routing key {' or '.join(PERMIT_ROUTING_KEYS)}, "
            f"not {routing_key!r}: status changes are JSON bodies (contract 3.1)"
        )


def _version(value: Any) -> int:
    if value is None:
        raise InvalidPermit(
            f"the AMQP header {VERSION_HEADER} is missing: an XML permit "
            "carries its version there (contract 3.1)"
        )
    given = value
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", "replace")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 12 else MAX_VERSION + 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        shown = repr(given) if len(repr(given)) <= 40 else repr(given)[:37] + "..."
        raise InvalidPermit(
            f"the AMQP header {VERSION_HEADER} must be a whole number from 1 "
            f"to {MAX_VERSION}, not {shown}"
        )
    return value


def _locate(root: etree._Element) -> tuple[etree._Element, Toolkit, etree._Element]:
    """The ePermit element: the root itself, or the one in a SOAP envelope's body; and the
    payload it came in (the root, or the Body), where a signature may be."""
    scope = root
    qname = etree.QName(root)
    if qname.localname == "Envelope" and qname.namespace in paths.SOAP_NAMESPACES:
        body = next(root.iterchildren("{*}Body"), None)
        if body is None:
            raise InvalidPermit("the SOAP envelope has no Body")
        fault = next(body.iterchildren("{*}Fault"), None)
        if fault is not None:
            reason = " ".join(str(fault.xpath("string(*[local-name()='faultstring'])")).split())
            raise InvalidPermit(
                f"the SOAP envelope holds a Fault, not a permit: {reason or 'no faultstring'}"
            )
        permit = next(body.iter(*(f"{{*}}{name}" for name in paths.TOOLKITS)), None)
        if permit is None:
            raise InvalidPermit(
                f"the SOAP envelope's Body holds no ePermit ({' or '.join(paths.TOOLKITS)} element)"
            )
        root, qname, scope = permit, etree.QName(permit), body
    toolkit = paths.TOOLKITS.get(qname.localname)
    if toolkit is None:
        raise InvalidPermit(
            f"the root element {qname.localname} is not an ePermit: expected "
            f"{' or '.join(paths.TOOLKITS)}, bare or in a SOAP envelope"
        )
    if qname.namespace not in (None, toolkit.namespace):
        raise InvalidPermit(
            f"{qname.localname} is in namespace {qname.namespace!r}; "
            f"{toolkit.name} uses {toolkit.namespace!r}"
        )
    return root, toolkit, scope


def _with_elements(message: str, sources: dict[str, str]) -> str:
    """Name the XML element next to each JSON path the permit validator names."""

    def name(match: re.Match[str]) -> str:
        path = match.group(1)
        source = sources.get(path)
        return f"{path} ({source})" if source else path

    keys = sorted(sources, key=len, reverse=True)
    paths_named = "|".join(re.escape(k) for k in keys)
    pattern = rf"(?<=[:;] )({paths_named})(?=( \(line [A-Z]+\))?: )"
    return re.sub(pattern, name, message)
