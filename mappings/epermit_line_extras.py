"""What a CITES form line says beyond species, quantity and appendix, read from an ePermit.

- Box 14 (``ExaminationTransportEvent``): the quantity the exporting country's officer
  endorsed as actually exported, ``exported_quantity`` in contract 3.1 (v2); at import the
  declared quantity may not pass it. Its ``unitCode``, when given, must be the line's unit
  (the contract gives ``exported_quantity`` in the line's unit): a different one is refused,
  never converted behind the officer's back.
- Box 12: the permit of the country of origin (``AssociatedReferencedDocument`` of type 861),
  ``origin_permit_number``; a re-export certificate names it.
- What the JSON body has no field for is kept where an officer reads it, the line's
  ``description``: the common name (box 8), the country and certificate of last re-export
  (box 12a: ``ExportTradeCountry``, document type 811) and the permit's special conditions
  (box 5, ``HeaderExchangedDocument/Information``), cut to the description's limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from cites_connector.domain import limits
from cites_connector.mappings import epermit_paths as paths
from cites_connector.mappings.epermit_paths import Path, show
from cites_connector.mappings.epermit_values import cites_unit, is_absent, text_of

Find = Callable[[etree._Element, Path], list[etree._Element]]


def read_extras(
    item: etree._Element,
    line: dict[str, Any],
    base: str,
    find: Find,
    special_conditions: str | None,
    problems: list[str],
    re_export: bool = False,
) -> dict[str, str]:
    """Add box 14, box 12's permit and the description notes to ``line``; returns the JSON
    path -> XML element of each field added, for messages."""
    sources: dict[str, str] = {}
    exported = [
        (path, q)
        for path in paths.EXPORTED_QUANTITY
        for q in find(item, path)
        if not is_absent(text_of(q))
    ]
    if len(exported) > 1:
        problems.append(
            f"{base}/{show(exported[0][0])}: line {line.get('line')} has {len(exported)} "
            "endorsed quantities (box 14); a permit line has at most one"
        )
    elif exported:
        path, element = exported[0]
        where = f"{base}/{show(path)}"
        sources["exported_quantity"] = where
        line["exported_quantity"] = text_of(element).strip()
        code = element.get("unitCode")
        if code is not None and not is_absent(code) and cites_unit(code) != line.get("unit"):
            problems.append(
                f"{where}: the endorsed quantity is in {code.strip()!r}, the line in "
                f"{line.get('unit') or 'number of specimens'}: box 14 must be in the line's unit"
            )
    origin_permit = _document(item, paths.ORIGIN_PERMIT_CODE, find)
    if origin_permit is not None:
        line["origin_permit_number"] = origin_permit
        sources["origin_permit_number"] = (
            f"{base}/{show(paths.REFERENCED_DOCUMENT)}[TypeCode={paths.ORIGIN_PERMIT_CODE}]/ID"
        )
    notes = _notes(item, find, special_conditions, re_export)
    own = line.get("description")
    # a box 9 text over the limit is left as it is, for the validator to refuse by name: only
    # the notes added here are ever cut
    if notes and (own is None or len(own) <= limits.DESCRIPTION):
        text = "; ".join(filter(None, [own, *notes]))
        line["description"] = _cut(text, limits.DESCRIPTION)
    return sources


def _notes(
    item: etree._Element, find: Find, special_conditions: str | None, re_export: bool
) -> list[str]:
    notes = []
    common = _first(item, paths.COMMON_NAME, find)
    if common:
        notes.append(f"common name: {common}")
    # on an export permit ExportTradeCountry is just the exporting country: box 12a is a
    # re-export certificate's
    country = _first(item, paths.LAST_RE_EXPORT_COUNTRY, find) if re_export else None
    certificate = _document(item, paths.LAST_RE_EXPORT_CODE, find) if re_export else None
    if country or certificate:
        notes.append("last re-export: " + ", ".join(filter(None, [country, certificate])))
    if special_conditions:
        notes.append(f"special conditions: {special_conditions}")
    return notes


def _document(item: etree._Element, code: str, find: Find) -> str | None:
    for document in find(item, paths.REFERENCED_DOCUMENT):
        if _first(document, ("TypeCode",), find) == code:
            number = _first(document, ("ID",), find)
            if number:
                return number
    return None


def _first(element: etree._Element, path: Path, find: Find) -> str | None:
    for found in find(element, path):
        text = " ".join(text_of(found).split())
        if not is_absent(text):
            return text
    return None


def special_conditions(root: etree._Element, find: Find) -> str | None:
    """Box 5 of the permit, in one line."""
    return _first(root, paths.SPECIAL_CONDITIONS, find)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
