"""Building response and Fault envelopes with lxml.

Element names and order follow the XSD (adapters/soap/wsdl/clearance.xsd), which the tests
validate every response against. The values come from ``cites_connector.domain.decision_dicts``
(the same dict forms the ledger stores and the broker receives), so the SOAP response and the
stored decision cannot drift apart. lxml escapes text, so a reason message quoting trader input
cannot break the XML.

Fault codes are QNames in the SOAP 1.1 envelope namespace, as SOAP 1.1 section 4.4 requires
(``soap:Client.Authentication``); the local part is the contract's code, repeated unprefixed in
``detail/FaultDetail/Code`` for clients that compare strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from cites_connector.adapters.soap.envelope import SOAP11_NS
from cites_connector.adapters.soap.schema import NS

_NSMAP = {"soap": SOAP11_NS, "c": NS}
#: characters XML 1.0 cannot carry; an error message may quote raw input that holds them
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _add(parent: etree._Element, name: str, value: Any) -> etree._Element | None:
    """Append ``<c:name>value</c:name>``; absent values are left out (minOccurs="0")."""
    if value is None:
        return None
    child = etree.SubElement(parent, q(name))
    child.text = str(value)
    return child


def _reasons(
    parent: etree._Element, wrapper: str, entry: str, reasons: Iterable[dict[str, str]]
) -> None:
    holder = etree.SubElement(parent, q(wrapper))
    for reason in reasons:
        node = etree.SubElement(holder, q(entry))
        _add(node, "Code", reason["code"])
        _add(node, "Message", reason["message"])


def envelope(payload: etree._Element, header: etree._Element | None = None) -> bytes:
    env = etree.Element(f"{{{SOAP11_NS}}}Envelope", nsmap=_NSMAP)
    if header is not None:
        env.append(header)
    etree.SubElement(env, f"{{{SOAP11_NS}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


#: an item's fields in XSD order: (key in ``decision_to_dict``, element name); the first
#: three always in the dict, the others may be missing; None is left out (minOccurs="0")
_ITEM_REQUIRED = tuple(
    (key, q(name))
    for key, name in (("item_number", "ItemNumber"), ("hs_code", "HsCode"), ("status", "Status"))
)
_ITEM_OPTIONAL = tuple(
    (key, q(name))
    for key, name in (
        ("permit_number", "PermitNumber"),
        ("issuing_country", "IssuingCountry"),
        ("permit_line", "PermitLine"),
        ("quantity", "Quantity"),
        ("unit", "Unit"),
        ("remaining_after", "RemainingAfter"),
    )
)
_ITEM, _ITEMS = q("Item"), q("Items")


def decision_result(name: str, data: dict[str, Any], state: str | None = None) -> etree._Element:
    """``CheckDeclarationResponse`` / ``GetDecisionResponse`` from ``decision_to_dict``."""
    root = etree.Element(q(name), nsmap={"c": NS})
    _add(root, "DeclarationId", data["declaration_id"])
    _add(root, "Version", data["version"])
    _add(root, "Decision", data["decision"])
    items = etree.SubElement(root, _ITEMS)
    sub = etree.SubElement
    for item in data["items"]:
        node = sub(items, _ITEM)
        for fields, read in ((_ITEM_REQUIRED, item.__getitem__), (_ITEM_OPTIONAL, item.get)):
            for key, tag in fields:
                value = read(key)
                if value is not None:
                    sub(node, tag).text = str(value)
        _reasons(node, "Reasons", "Reason", item.get("reasons", ()))
        _reasons(node, "RiskFlags", "Flag", item.get("risk_flags", ()))
    _reasons(root, "Reasons", "Reason", data.get("reasons", ()))
    _add(root, "State", state)
    return root


def cancel_result(declaration_id: str, restored: Iterable[dict[str, Any]]) -> etree._Element:
    root = etree.Element(q("CancelDeclarationResponse"), nsmap={"c": NS})
    _add(root, "DeclarationId", declaration_id)
    holder = etree.SubElement(root, q("Restored"))
    for usage in restored:
        node = etree.SubElement(holder, q("Usage"))
        for name in (
            "PermitNumber",
            "IssuingCountry",
            "PermitLine",
            "Quantity",
            "Unit",
            "RemainingAfter",
        ):
            _add(node, name, usage.get(name))
    return root


def balance_result(data: dict[str, Any]) -> etree._Element:
    root = etree.Element(q("GetPermitBalanceResponse"), nsmap={"c": NS})
    for name in ("PermitNumber", "IssuingCountry", "Status", "ValidFrom", "ValidUntil"):
        _add(root, name, data[name])
    lines = etree.SubElement(root, q("Lines"))
    for line in data["Lines"]:
        node = etree.SubElement(lines, q("Line"))
        for name in ("Line", "Taxon", "Quantity", "Unit", "Remaining"):
            _add(node, name, line.get(name))
    return root


def fault(
    code: str, message: str, declaration_id: str | None = None, header: etree._Element | None = None
) -> bytes:
    """A SOAP 1.1 Fault envelope; ``code`` is the contract's code, e.g. ``Client.TooLarge``."""
    env = etree.Element(f"{{{SOAP11_NS}}}Envelope", nsmap=_NSMAP)
    if header is not None:
        env.append(header)
    body = etree.SubElement(env, f"{{{SOAP11_NS}}}Body")
    node = etree.SubElement(body, f"{{{SOAP11_NS}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{code}"
    etree.SubElement(node, "faultstring").text = _NOT_XML.sub("\ufffd", message)
    detail = etree.SubElement(etree.SubElement(node, "detail"), q("FaultDetail"))
    _add(detail, "Code", code)
    _add(detail, "DeclarationId", declaration_id and _NOT_XML.sub("\ufffd", declaration_id))
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
