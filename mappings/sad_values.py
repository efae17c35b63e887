"""Reading one value out of a SAD element (contract section 2, v2), and checking that the
ledger can store it (``cites_connector.domain.limits``).

A value is the element's whole text content: comments and processing instructions are
dropped and CDATA is text, so ``1<!-- x -->000`` reads ``1000`` (lxml would otherwise hand
back ``1``, the text before the comment, and a quantity would shrink a thousandfold). An
element holding child elements where a value is expected is refused: guessing which text is
meant is how a declared quantity turns into another. ASYCUDA's ``<null/>`` child means absent.

Numbers are ASCII digits with an optional decimal point: ``١٢`` (Arabic-Indic digits), ``1e3``
and ``1,5`` are not numbers here, whatever Python's ``Decimal`` would make of them.
"""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from cites_connector.domain.errors import MappingFailed
from cites_connector.domain.limits import QUANTITY_DECIMAL_DIGITS, QUANTITY_INTEGER_DIGITS
from cites_connector.mappings.safe_xml import tag_of

_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
NULL = "null"


def whole_text(element: etree._Element, path: str) -> str | None:
    """The stripped text content of ``element``; None when blank or ``<null/>``."""
    if not len(element):  # no child of any kind: its text is the whole of it
        return (element.text or "").strip() or None
    parts = [element.text or ""]
    for child in element:
        if isinstance(tag_of(child), str):
            if child.tag == NULL:
                return None
            raise MappingFailed(
                f"{path} holds the element <{etree.QName(child).localname}> "
                "where a value is expected"
            )
        parts.append(child.tail or "")  # a comment or processing instruction: its tail only
    return "".join(parts).strip() or None


def quantity(where: str, field: str, text: str) -> Decimal:
    """``where``: "item 2"; ``field``: the element's name, for the message."""
    match = _NUMBER.fullmatch(text)
    if match is None or not (match.group(2) or match.group(3)):
        hint = (
            " (ASCII digits 0-9 only)" if any(c.isdigit() and not c.isascii() for c in text) else ""
        )
        raise MappingFailed(f"{where}: {field} {text[:40]!r} is not a number{hint}")
    integer, fraction = match.group(2).lstrip("0"), (match.group(3) or "").rstrip("0")
    if len(integer) > QUANTITY_INTEGER_DIGITS:
        raise MappingFailed(
            f"{where}: {field} {text[:40]!r} has more than "
            f"{QUANTITY_INTEGER_DIGITS} digits before the decimal point"
        )
    if len(fraction) > QUANTITY_DECIMAL_DIGITS:
        raise MappingFailed(
            f"{where}: {field} {text[:40]!r} has more than {QUANTITY_DECIMAL_DIGITS} decimal places"
        )
    value = Decimal(text)  # exact: construction never rounds
    if value < 0:
        raise MappingFailed(f"{where}: {field} {text[:40]!r} is negative")
    return value


def bounded(path: str, text: str | None, limit: int) -> str | None:
    """A code the ledger stores in a column of ``limit`` characters."""
    if text is not None and len(text) > limit:
        raise MappingFailed(
            f"{path} {text[:40]!r}... is {len(text)} characters long: at most {limit} are accepted"
        )
    return text
