"""ASYCUDA World SAD XML -> ``Declaration`` (contract section 2), driven by ``SadMapping``.

The mapping translates and checks form; it decides nothing. It fails (``MappingFailed``,
fault ``Client.MappingFailed``) only when the connector cannot work without the value: the
declaration type (which flow, hence which permit types, contract section 5), an HS code (the
key to the HS-to-taxon table), a date or quantity it cannot read. Anything it can carry
forward unread (an unknown supplementary unit, a document code) it carries forward, and the
decision layer says what is wrong with it in a customs officer's terms.

ASYCUDA quirks read here: an empty value is ``<null/>`` or an empty element; dates are
written as the installation is set up (``dd/mm/yyyy``, ``m/d/yy``: the mapping's formats,
``sad_dates.py``); ``Supplementary_unit`` is repeated (three blocks, mostly empty) and spelt
``Suppplementary_*`` inside; an item may carry several ``Attached_documents``, and, in
installations using ASYCUDA's licence module, a ``Licence_number`` of its own. Permit
references are free text and normalised as configured (``sad_references.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from lxml import etree

from cites_connector.domain import limits
from cites_connector.domain.declarations import AttachedDocument, Declaration, DeclarationItem, Flow
from cites_connector.domain.errors import MappingFailed
from cites_connector.domain.permits import Party
from cites_connector.mappings.sad_mapping import SadMapping
from cites_connector.mappings.sad_paths import ItemPaths
from cites_connector.mappings.sad_scope import Found, Scope, declaration_plan, item_plan, plan
from cites_connector.mappings.sad_values import bounded, quantity
from cites_connector.mappings.safe_xml import DEFAULT_MAX_BYTES, to_element

ROOT = "ASYCUDA"
_TYPE_WITH_PROCEDURE = re.compile(r"([A-Z]+)(\d+)")
#: HS Convention Art. 3: every contracting party declares at least the 6-digit subheading
_MIN_HS_DIGITS = 6


def map_declaration(
    source: bytes | etree._Element,
    mapping: SadMapping | None = None,
    *,
    today: date,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Declaration:
    """Map one SAD (raw bytes, or the ``ASYCUDA`` element the SOAP edge took out of the envelope).

    ``today`` is the date of the check, used when the SAD has no registration date.
    """
    mapping = mapping or SadMapping.default()
    element = to_element(source, max_bytes=max_bytes)
    _check_root(element)
    paths = mapping.declaration
    root = Scope(element, declaration_plan(paths))
    type_code, flow, procedure = _flow(root, mapping)
    registered = root.first(paths.date)
    items = tuple(
        _item(number, item, mapping) for number, item in enumerate(root.all(paths.items), start=1)
    )
    if not items:
        raise MappingFailed(f"the declaration has no goods item (no {paths.items} element)")
    export_country = _country(root, paths.export_country)
    destination_country = _country(root, paths.destination_country)
    return Declaration(
        declaration_type=type_code,
        flow=flow,
        date=mapping.date_formats.read(*registered) if registered else today,
        date_defaulted=registered is None,
        items=items,
        office=bounded(paths.office[0], _text(root, paths.office), limits.OFFICE_CODE),
        office_name=_office_name(root, paths.office_name),
        procedure=procedure,
        exporter=Party(
            name=_text(root, paths.exporter_name),
            country=export_country,
            id=_text(root, paths.exporter_code),
        ),
        consignee=Party(
            name=_text(root, paths.consignee_name),
            country=destination_country,
            id=_text(root, paths.consignee_code),
        ),
        declarant_code=bounded(
            paths.declarant_code[0], _text(root, paths.declarant_code), limits.DECLARANT_CODE
        ),
        declarant_name=_text(root, paths.declarant_name),
        export_country=export_country,
        destination_country=destination_country,
    )


def _check_root(root: etree._Element) -> None:
    if root.tag == ROOT:
        return
    name = etree.QName(root)
    if name.localname == ROOT:
        raise MappingFailed(
            f"the root element ASYCUDA is in the namespace {name.namespace!r}: "
            'a SAD\'s ASYCUDA element has no namespace (send it with xmlns="")'
        )
    raise MappingFailed(
        f"the root element is {name.localname!r}: expected an ASYCUDA World SAD (ASYCUDA)"
    )


def _flow(root: Scope, mapping: SadMapping) -> tuple[str, Flow, str | None]:
    """Type of declaration (+ procedure) -> flow; EX with a re-export procedure is RE_EXPORT."""
    paths = mapping.declaration
    found = root.first(paths.type)
    if found is None:
        raise MappingFailed(
            f"{paths.type[0]} is missing: the type of declaration "
            f"({', '.join(sorted(mapping.declaration_types))}) is needed to know the flow"
        )
    path, type_code = found
    procedure = _text(root, paths.procedure)
    key = type_code.upper()
    flow = mapping.type_procedures.get((key, (procedure or "").upper()))
    if flow is not None:  # a national (type, procedure) pair: its flow is final
        return type_code, flow, procedure
    flow = mapping.declaration_types.get(key)
    split = _TYPE_WITH_PROCEDURE.fullmatch(key)
    if flow is None and mapping.type_suffix_is_procedure and split:
        flow = mapping.declaration_types.get(split.group(1))
        procedure = procedure or split.group(2)
    if flow is None:
        known = sorted(mapping.declaration_types) + sorted(
            f"{t} with procedure {p}" for t, p in mapping.type_procedures
        )
        given = f"; procedure {procedure[:40]!r}" if procedure else ""
        raise MappingFailed(
            f"{path} {type_code[:40]!r} is not a known type of declaration "
            f"(known: {', '.join(known)}{given})"
        )
    if flow is Flow.EXPORT and procedure in mapping.re_export_procedures:
        flow = Flow.RE_EXPORT
    return type_code, flow, procedure


def _item(number: int, element: etree._Element, mapping: SadMapping) -> DeclarationItem:
    paths = mapping.item
    item = Scope(element, item_plan(paths))
    quantity, unit, unit_code = _supplementary(number, item, mapping)
    return DeclarationItem(
        number=number,
        hs_code=_hs_code(number, item, mapping),
        description=_text(item, paths.description),
        origin_country=_country(item, paths.origin_country),
        net_mass=_quantity(number, item.first(paths.net_mass)),
        supplementary_quantity=quantity,
        supplementary_unit=unit,
        supplementary_unit_code=unit_code,
        documents=tuple(_documents(item, mapping)),
    )


def _hs_code(number: int, item: Scope, mapping: SadMapping) -> str:
    paths = mapping.item
    commodity = item.first(paths.hs_code)
    if commodity is None:
        raise MappingFailed(f"item {number}: no HS code ({paths.hs_code[0]} is missing or empty)")
    parts = [commodity] + [f for f in (item.first((p,)) for p in paths.hs_code_national) if f]
    for path, digits in parts:
        if not digits.isascii() or not digits.isdigit():
            raise MappingFailed(f"item {number}: HS code {digits!r} in {path} is not digits only")
    code = "".join(digits for _, digits in parts)
    if len(code) < _MIN_HS_DIGITS:
        raise MappingFailed(
            f"item {number}: HS code {code!r} has fewer than {_MIN_HS_DIGITS} digits"
        )
    return code


def _supplementary(
    number: int, item: Scope, mapping: SadMapping
) -> tuple[Decimal | None, str | None, str | None]:
    """The first non-empty Supplementary_unit block: (quantity, CITES unit, customs code)."""
    paths = mapping.item
    block_plan = plan((*paths.supplementary_unit_code, *paths.supplementary_unit_quantity))
    for element in item.all(paths.supplementary_unit):
        block = Scope(element, block_plan)
        code = _text(block, paths.supplementary_unit_code)
        amount = block.first(paths.supplementary_unit_quantity)
        if code is None and amount is None:
            continue
        unit_code = code.upper() if code else None
        unit_code = bounded(paths.supplementary_unit_code[0], unit_code, limits.UNIT_CODE)
        return _quantity(number, amount), mapping.units.to_cites(unit_code), unit_code
    return None, None, None


def _documents(item: Scope, mapping: SadMapping) -> Iterable[AttachedDocument]:
    """Every attached document with a code, in order; the decision layer picks the CITES ones.
    A CITES document's reference is normalised into a permit number (``[references]``)."""
    paths = mapping.item
    block_plan = plan((*paths.document_code, *paths.document_reference))
    for found in item.all(paths.documents):
        block = Scope(found, block_plan)
        code = _text(block, paths.document_code)
        if code is not None:
            yield _document(code.upper(), _text(block, paths.document_reference), paths, mapping)
    licence = _text(item, paths.licence_number) if mapping.licence_document_code else None
    if mapping.licence_document_code and licence is not None:
        yield _document(mapping.licence_document_code, licence, paths, mapping)


def _document(
    code: str, reference: str | None, paths: ItemPaths, mapping: SadMapping
) -> AttachedDocument:
    if code in mapping.cites_document_codes:  # a permit number: normalised and stored
        reference = mapping.references.permit_number(reference)
        reference = bounded(paths.document_reference[0], reference, limits.PERMIT_NUMBER)
    return AttachedDocument(code, reference)


def _quantity(number: int, found: Found | None) -> Decimal | None:
    if found is None:
        return None
    path, text = found
    return quantity(f"item {number}", path.rsplit("/", 1)[-1], text)


def _office_name(root: Scope, paths: tuple[str, ...]) -> str | None:
    """Names are free text: blanks collapsed (Albanian exports end them with a newline)."""
    name = _text(root, paths)
    name = " ".join(name.split()) if name else None
    return bounded(paths[0], name, limits.OFFICE_NAME) if paths else name


def _country(context: Scope, paths: tuple[str, ...]) -> str | None:
    value = _text(context, paths)
    return value.upper() if value else None


def _text(scope: Scope, paths: tuple[str, ...]) -> str | None:
    found = scope.first(paths)
    return found[1] if found else None
