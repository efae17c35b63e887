"""Checking a parsed SAD mapping file table by table (``sad_mapping.toml``, contract 2).

Errors read ``<file>: [table] key: problem``: the person reading them edits the file.
Unknown keys are refused, so that a misspelt key fails at start-up instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import fields
from types import MappingProxyType
from typing import Any

from cites_connector.domain.declarations import Flow
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.sad_dates import DateFormats, InvalidDateFormat
from cites_connector.mappings.sad_paths import (
    MAY_BE_EMPTY,
    PATH,
    DeclarationPaths,
    ItemPaths,
)
from cites_connector.mappings.sad_references import ReferenceRules
from cites_connector.mappings.supplementary_units import SupplementaryUnits


class InvalidMappingFile(InvalidInput, ValueError):
    """The mapping file cannot be used; the message names the key (CLI exit code 2)."""


_TABLES = {
    "version": None,
    "declaration": None,
    "item": None,
    "dates": {"formats"},
    "documents": {"cites", "not_concerned", "exemption", "licence"},
    "references": {"strip_prefixes", "remove_characters", "not_references"},
    "declaration_types": None,
    "procedures": {"re_export", "type_suffix_is_procedure", "flows"},
    "supplementary_units": {"specimens", "cites"},
}


class MappingReader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> InvalidMappingFile:
        return InvalidMappingFile(f"{self.source}: {where}: {problem}")

    def fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``SadMapping``, checked."""
        self.keys("top level", data, set(_TABLES))
        if data.get("version") != 1:
            version = data.get("version")
            raise self.fail("version", f"unsupported mapping version {version!r} (expected 1)")
        documents = self.table(data, "documents")
        procedures = self.table(data, "procedures")
        suffix = procedures.get("type_suffix_is_procedure")
        if not isinstance(suffix, bool):
            raise self.fail(
                "[procedures] type_suffix_is_procedure", f"expected true or false, got {suffix!r}"
            )
        types = self.flows(self.table(data, "declaration_types"))
        cites = self.codes(documents, "[documents] cites")
        return {
            "declaration": self.paths(data, "declaration", DeclarationPaths, repeated={"items"}),
            "item": self.paths(
                data, "item", ItemPaths, repeated={"supplementary_unit", "documents"}
            ),
            "cites_document_codes": cites,
            "not_concerned_document_codes": self.codes(documents, "[documents] not_concerned"),
            "exemption_document_codes": self.exemptions(documents, cites),
            "licence_document_code": self.licence(documents, cites),
            "references": self.references(self.table(data, "references")),
            "date_formats": self.dates(self.table(data, "dates")),
            "declaration_types": types,
            "type_procedures": self.type_procedures(procedures.get("flows")),
            "re_export_procedures": self.codes(procedures, "[procedures] re_export"),
            "type_suffix_is_procedure": suffix,
            "units": self.units(self.table(data, "supplementary_units")),
        }

    def keys(self, where: str, table: Mapping[str, Any], allowed: Set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise self.fail(where, f"unknown key {unknown[0]!r} (known: {known})")
        missing = sorted(allowed - set(table))
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")

    def table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        table = data.get(name)
        if not isinstance(table, dict):
            raise self.fail(f"[{name}]", "expected a table")
        allowed = _TABLES[name]
        if allowed is not None:
            self.keys(f"[{name}]", table, allowed)
        return table

    def paths(self, data: Mapping[str, Any], name: str, cls: type, repeated: set[str]) -> Any:
        table = data.get(name)
        if not isinstance(table, dict):
            raise self.fail(f"[{name}]", "expected a table")
        self.keys(f"[{name}]", table, {f.name for f in fields(cls)})
        values = {}
        for key, value in table.items():
            where = f"[{name}] {key}"
            alternatives = [value] if isinstance(value, str) else value
            if key in repeated and not isinstance(value, str):
                raise self.fail(where, "expected one path (a string) for a repeated element")
            if not isinstance(alternatives, list) or (not alternatives and key not in MAY_BE_EMPTY):
                raise self.fail(where, f"expected a path or a list of paths, got {value!r}")
            for path in alternatives:
                if not isinstance(path, str) or not PATH.fullmatch(path):
                    problem = f"{path!r} is not an element path like 'Segment/Element'"
                    raise self.fail(where, problem)
            values[key] = value if key in repeated else tuple(alternatives)
        return cls(**values)

    def codes(self, table: Mapping[str, Any], where: str) -> frozenset[str]:
        """``where`` is "[table] key"; the key is looked up in ``table``."""
        value = table.get(where.rsplit(" ", 1)[1])
        if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
            raise self.fail(where, f"expected a list of codes, got {value!r}")
        return frozenset(c.strip().upper() for c in value)

    def exemptions(self, documents: Mapping[str, Any], cites: frozenset[str]) -> frozenset[str]:
        codes = self.codes(documents, "[documents] exemption")
        both = sorted(codes & cites)
        if both:
            problem = f"{both[0]} is also a CITES document code ([documents] cites)"
            raise self.fail("[documents] exemption", problem)
        return codes

    def licence(self, documents: Mapping[str, Any], cites: frozenset[str]) -> str | None:
        value = documents.get("licence")
        if not isinstance(value, str):
            raise self.fail("[documents] licence", f'expected a code or "", got {value!r}')
        code = value.strip().upper()
        if code and code not in cites:
            raise self.fail(
                "[documents] licence",
                f"{code} is not one of the CITES document codes ([documents] cites): a licence "
                "number read as a permit reference must be cited under one of them",
            )
        return code or None

    def references(self, table: Mapping[str, Any]) -> ReferenceRules:
        prefixes = table.get("strip_prefixes")
        if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
            raise self.fail("[references] strip_prefixes", f"expected a list, got {prefixes!r}")
        remove = table.get("remove_characters")
        if not isinstance(remove, str):
            raise self.fail("[references] remove_characters", f"expected a string, got {remove!r}")
        words = table.get("not_references")
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise self.fail("[references] not_references", f"expected a list, got {words!r}")
        # longest first: "NR." must win over "NR"
        ordered = tuple(sorted(prefixes, key=len, reverse=True))
        return ReferenceRules(ordered, remove, frozenset(w.strip().casefold() for w in words))

    def dates(self, table: Mapping[str, Any]) -> DateFormats:
        formats = table.get("formats")
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise self.fail("[dates] formats", f"expected a list of formats, got {formats!r}")
        try:
            return DateFormats.parse(formats)
        except InvalidDateFormat as exc:
            raise self.fail("[dates] formats", str(exc)) from None

    def flow(self, where: str, value: object) -> Flow:
        if not isinstance(value, str) or value not in Flow.__members__:
            raise self.fail(where, f"{value!r} is not one of {', '.join(Flow.__members__)}")
        return Flow[value]

    def flows(self, table: Mapping[str, Any]) -> Mapping[str, Flow]:
        if not table:
            raise self.fail("[declaration_types]", "no declaration type is mapped")
        return MappingProxyType(
            {
                code.strip().upper(): self.flow(f"[declaration_types] {code}", value)
                for code, value in table.items()
            }
        )

    def type_procedures(self, rows: object) -> Mapping[tuple[str, str], Flow]:
        """``flows = [{type = "IMR", procedure = "4", flow = "IMPORT"}, ...]``"""
        where = "[procedures] flows"
        if not isinstance(rows, list):
            raise self.fail(where, f"expected a list of {{type, procedure, flow}}, got {rows!r}")
        table: dict[tuple[str, str], Flow] = {}
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or set(row) != {"type", "procedure", "flow"}:
                expected = "expected {type = ..., procedure = ..., flow = ...}"
                raise self.fail(f"{where} #{n}", expected)
            kind, procedure = row["type"], row["procedure"]
            if not (isinstance(kind, str) and kind.strip()) or not (
                isinstance(procedure, str) and procedure.strip()
            ):
                raise self.fail(f"{where} #{n}", "type and procedure are codes (strings)")
            key = (kind.strip().upper(), procedure.strip().upper())
            if key in table:
                raise self.fail(f"{where} #{n}", f"{key[0]} with procedure {key[1]} listed twice")
            table[key] = self.flow(f"{where} #{n} flow", row["flow"])
        return MappingProxyType(table)

    def units(self, table: Mapping[str, Any]) -> SupplementaryUnits:
        specimens = self.codes(table, "[supplementary_units] specimens")
        cites = table["cites"]
        if not isinstance(cites, dict):
            raise self.fail("[supplementary_units.cites]", "expected a table of code = CITES unit")
        try:
            return SupplementaryUnits.from_table(sorted(specimens), cites)
        except ValueError as exc:
            raise self.fail("[supplementary_units.cites]", str(exc)) from None
