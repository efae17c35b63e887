"""The paper permit form: what an officer types in, read into a contract 3.1 permit body.

The form has a fixed number of line rows (no JavaScript to add more; a permit with more lines
is entered in parts by amending, or waits for the permit system). Fields are read as text and
checked by the same validation as an electronic permit (``parse_permit``), whose messages
name the field.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

LINE_ROWS = 6
LINE_FIELDS = ("line", "taxon", "quantity", "unit", "appendix", "source", "term", "origin")
PERMIT_TYPES = (
    "EXPORT",
    "RE_EXPORT",
    "IMPORT",
    "CERTIFICATE_OF_ORIGIN",
    "PRE_CONVENTION",
    "CAPTIVE_BREEDING",
    "INTRODUCTION_FROM_THE_SEA",
    "OTHER",
)


def _text(form: MultiDict[str, str], name: str, limit: int = 200) -> str | None:
    value = form.get(name, "").strip()
    return value[:limit] if value else None


def permit_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as a permit event body (validated afterwards by ``parse_permit``)."""
    lines = []
    for n in range(LINE_ROWS):
        row = {f: _text(form, f"line{n}_{f}", 1000) for f in LINE_FIELDS}
        if not any(row.values()):
            continue
        lines.append(
            {
                "line": (row["line"] or "").upper(),
                "taxon": row["taxon"],
                "quantity": row["quantity"],
                "unit": (row["unit"] or "").upper() or None,
                "appendix": row["appendix"],
                "source": (row["source"] or "").upper() or None,
                "term": (row["term"] or "").upper() or None,
                "origin_country": (row["origin"] or "").upper() or None,
            }
        )
    country = (_text(form, "issuing_country", 2) or "").upper()
    return {
        "permit_number": _text(form, "permit_number", 64),
        "issuing_country": country,
        "version": 1,
        "type": _text(form, "type", 40),
        "status": "VALID",
        "issued_on": _text(form, "issued_on", 10),
        "valid_from": _text(form, "valid_from", 10),
        "valid_until": _text(form, "valid_until", 10),
        "consignment_policy": _text(form, "consignment_policy", 16) or "SINGLE",
        "exporter": {
            "name": _text(form, "exporter_name"),
            "country": (_text(form, "exporter_country", 2) or "").upper() or None,
            "id": _text(form, "exporter_id"),
        },
        "importer": {
            "name": _text(form, "importer_name"),
            "country": (_text(form, "importer_country", 2) or "").upper() or None,
            "id": _text(form, "importer_id"),
        },
        "purpose": (_text(form, "purpose", 2) or "").upper() or None,
        "security_stamp": _text(form, "security_stamp", 64),
        "lines": lines,
    }
