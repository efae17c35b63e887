"""Reads the fields of one ePermit element into the contract 3.1 JSON body.

Reading and validating are apart: this module only finds values (paths in ``epermit_paths``)
and records, for every JSON field, the XML element it came from, so that the validator's
verdict can name the element. It refuses only what the JSON body cannot express: a date it
cannot read, a type code outside E/R/I/O, two quantities for one line.
"""

from __future__ import annotations

import string
from typing import Any

from lxml import etree

from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitType
from cites_connector.mappings import epermit_paths as paths
from cites_connector.mappings.epermit_line_extras import read_extras, special_conditions
from cites_connector.mappings.epermit_paths import Path, Toolkit, show
from cites_connector.mappings.epermit_values import (
    BadValue,
    cites_unit,
    is_absent,
    read_date,
    text_of,
)


def _find(element: etree._Element, path: Path) -> list[etree._Element]:
    """Elements at ``path`` by local name; ``{*}`` matches any namespace or none."""
    found = [element]
    for name in path:
        found = [c for e in found for c in e.iterchildren(f"{{*}}{name}")]
    return found


class EPermitReader:
    """Reads one ePermit into the JSON body, collecting problems instead of stopping at one."""

    def __init__(self, root: etree._Element, toolkit: Toolkit):
        self.root, self.toolkit = root, toolkit
        self.problems: list[str] = []
        self.sources: dict[str, str] = {}
        self._conditions: str | None = None
        self._re_export = False

    def read(self) -> dict[str, Any]:
        root = self.root
        body: dict[str, Any] = {}
        self._put(
            body,
            "permit_number",
            self._text(root, paths.PERMIT_NUMBER),
            self._where(paths.PERMIT_NUMBER),
        )
        self._put(body, "type", self._type(), self._where(paths.TYPE_CODE))
        body["status"] = PermitStatus.VALID.value
        issued = self._date(paths.ISSUED)
        self._put(body, "issued_on", issued, self._where(paths.ISSUED))
        valid_from = self._date(paths.VALID_FROM)
        self._put(
            body,
            "valid_from",
            valid_from or issued,
            self._where(paths.VALID_FROM if valid_from or not issued else paths.ISSUED),
        )
        self._put(
            body, "valid_until", self._date(paths.VALID_UNTIL), self._where(paths.VALID_UNTIL)
        )
        body["consignment_policy"] = ConsignmentPolicy.SINGLE.value
        body["exporter"] = self._party("exporter", paths.EXPORTER)
        body["importer"] = self._party("importer", paths.IMPORTER)
        self._issuer(body)
        for key, path in (
            ("purpose", paths.PURPOSE),
            ("security_stamp", paths.SECURITY_STAMP),
            ("replaces", paths.REPLACES),
        ):
            self._put(body, key, self._text(root, path), self._where(path))
        self.sources["lines"] = self._where(paths.LINES)
        self._conditions = special_conditions(root, _find)
        self._re_export = body.get("type") == PermitType.RE_EXPORT.value
        body["lines"] = [
            self._line(index, item) for index, item in enumerate(_find(root, paths.LINES))
        ]
        return body

    # -- helpers ----------------------------------------------------------------------------

    def _where(self, path: Path) -> str:
        return f"{self.toolkit.root}/{show(path)}"

    def _put(
        self, target: dict[str, Any], key: str, value: Any, where: str, json_path: str | None = None
    ) -> None:
        """Absent values are left out, so the validator says "is required" where it must."""
        self.sources[json_path or key] = where
        if value is not None:
            target[key] = value

    @staticmethod
    def _text(element: etree._Element, path: Path) -> str | None:
        for found in _find(element, path):
            text = text_of(found).strip()
            if not is_absent(text):
                return text
        return None

    def _date(self, path: Path) -> str | None:
        for found in _find(self.root, path):
            try:
                day = read_date(found)
            except BadValue as bad:
                self.problems.append(f"{self._where(path)}: {bad}")
                return None
            if day is not None:
                return day.isoformat()
        return None

    def _type(self) -> str | None:
        code = self._text(self.root, paths.TYPE_CODE)
        if code is None or code in paths.TYPE_CODES:
            return None if code is None else paths.TYPE_CODES[code].value
        known = ", ".join(
            f"{c} {t.value.lower().replace('_', '-')}" for c, t in paths.TYPE_CODES.items()
        )
        self.problems.append(
            f"{self._where(paths.TYPE_CODE)}: {code!r} is not a permit type code ({known})"
        )
        return None

    def _party(self, key: str, path: Path) -> dict[str, Any]:
        party: dict[str, Any] = {}
        element = next(iter(_find(self.root, path)), None)
        for field_name, field_path in (
            ("name", paths.PARTY_NAME),
            ("id", paths.PARTY_ID),
            ("country", self.toolkit.party_country),
        ):
            value = None if element is None else self._text(element, field_path)
            self._put(
                party, field_name, value, self._where(path + field_path), f"{key}.{field_name}"
            )
        return party

    def _issuer(self, body: dict[str, Any]) -> None:
        country_path = paths.AUTHORITY + self.toolkit.party_country
        country = self._text(self.root, country_path)
        if country is None and body["exporter"].get("country"):
            country = body["exporter"]["country"]
            country_path = paths.EXPORTER + self.toolkit.party_country
        self._put(body, "issuing_country", country, self._where(country_path))

    def _line(self, index: int, item: etree._Element) -> dict[str, Any]:
        base, prefix = f"{self._where(paths.LINES)}[{index + 1}]", f"lines[{index}]"
        line: dict[str, Any] = {}
        self._put(
            line,
            "line",
            self._text(item, paths.LINE_LETTER) or _letter(index),
            f"{base}/{show(paths.LINE_LETTER)}",
            f"{prefix}.line",
        )
        for key, path in (
            ("taxon", paths.TAXON),
            ("appendix", paths.APPENDIX),
            ("source", paths.SOURCE),
            ("term", paths.TERM),
            ("origin_country", paths.ORIGIN),
            ("description", paths.DESCRIPTION),
        ):
            self._put(line, key, self._text(item, path), f"{base}/{show(path)}", f"{prefix}.{key}")
        where = f"{base}/{show(paths.QUANTITY)}"
        quantities = [q for q in _find(item, paths.QUANTITY) if not is_absent(text_of(q))]
        self.sources[f"{prefix}.unit"] = f"{where}/@unitCode"
        self._put(
            line,
            "quantity",
            text_of(quantities[0]).strip() if len(quantities) == 1 else None,
            where,
            f"{prefix}.quantity",
        )
        if len(quantities) == 1:
            line["unit"] = cites_unit(quantities[0].get("unitCode"))
        elif quantities:
            self.problems.append(
                f"{where}: line {line['line']} has {len(quantities)} "
                "quantities; a permit line needs exactly one"
            )
        added = read_extras(
            item, line, base, _find, self._conditions, self.problems, self._re_export
        )
        self.sources |= {f"{prefix}.{key}": where for key, where in added.items()}
        return line


def _letter(index: int) -> str:
    """The form's line letter for a position: A..Z, then AA, AB, ..."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]
