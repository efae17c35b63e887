"""The declarative SAD mapping (contract section 2): element paths in a TOML file, not in code.

ASYCUDA World versions and national configurations move fields around; an administration
adapts the connector by editing ``sad_mapping.toml`` (or a copy holding only the keys it
changes), never Python. The file is checked when loaded, and every complaint names the table
and key, because the person reading it is an administrator, not the developer.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Set
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cites_connector.domain.declarations import Flow
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.supplementary_units import SupplementaryUnits

DEFAULT_FILE = Path(__file__).with_name("sad_mapping.toml")

#: a relative element path: names separated by "/", no wildcards, predicates or axes
_PATH = re.compile(r"[A-Za-z_][\w.\-]*(/[A-Za-z_][\w.\-]*)*")

Paths = tuple[str, ...]


class InvalidMappingFile(InvalidInput, ValueError):
    """The mapping file cannot be used; the message names the key (CLI exit code 2)."""


@dataclass(frozen=True)
class DeclarationPaths:
    """Paths relative to the ``ASYCUDA`` root; each a list of alternatives, first present wins."""

    office: Paths
    type: Paths
    procedure: Paths
    date: Paths
    exporter_code: Paths
    exporter_name: Paths
    consignee_code: Paths
    consignee_name: Paths
    declarant_code: Paths
    declarant_name: Paths
    export_country: Paths
    destination_country: Paths
    #: the repeated item element
    items: str


@dataclass(frozen=True)
class ItemPaths:
    """Paths relative to one ``Item`` (or, for the inner keys, to one repeated block)."""

    hs_code: Paths
    #: appended to the HS code in order when present (ASYCUDA ``Precision_1``: national digits)
    hs_code_national: Paths
    description: Paths
    origin_country: Paths
    net_mass: Paths
    supplementary_unit: str
    supplementary_unit_code: Paths
    supplementary_unit_quantity: Paths
    documents: str
    document_code: Paths
    document_reference: Paths


@dataclass(frozen=True)
class SadMapping:
    declaration: DeclarationPaths
    item: ItemPaths
    cites_document_codes: frozenset[str]
    not_concerned_document_codes: frozenset[str]
    #: Type_of_declaration -> flow
    declaration_types: Mapping[str, Flow]
    #: procedure codes that make an export a re-export
    re_export_procedures: frozenset[str]
    #: read "EX3" as type "EX", procedure "3" (see the TOML file)
    type_suffix_is_procedure: bool
    units: SupplementaryUnits

    @classmethod
    def default(cls) -> SadMapping:
        return _default()

    @classmethod
    def from_file(cls, path: str | Path) -> SadMapping:
        """Load an administration's mapping; keys it leaves out keep their default value."""
        path = Path(path)
        return cls.from_toml(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "mapping file") -> SadMapping:
        try:
            overrides = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidMappingFile(f"{source}: not valid TOML: {exc}") from None
        return cls.from_dict(_merge(_default_table(), overrides), source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "mapping file") -> SadMapping:
        return _Reader(source).mapping(data)


@lru_cache(maxsize=1)
def _default_table() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _default() -> SadMapping:
    return SadMapping.from_dict(_default_table(), source=str(DEFAULT_FILE))


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Reader:
    """Validates the parsed TOML table by table; errors read ``<file>: [table] key: problem``."""

    _TABLES = frozenset(
        {
            "version",
            "declaration",
            "item",
            "documents",
            "declaration_types",
            "procedures",
            "supplementary_units",
        }
    )

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> InvalidMappingFile:
        return InvalidMappingFile(f"{self.source}: {where}: {problem}")

    def mapping(self, data: Mapping[str, Any]) -> SadMapping:
        self.keys("top level", data, self._TABLES)
        if data.get("version") != 1:
            version = data.get("version")
            raise self.fail("version", f"unsupported mapping version {version!r} (expected 1)")
        documents = self.table(data, "documents", {"cites", "not_concerned"})
        procedures = self.table(data, "procedures", {"re_export", "type_suffix_is_procedure"})
        suffix = procedures.get("type_suffix_is_procedure")
        if not isinstance(suffix, bool):
            raise self.fail(
                "[procedures] type_suffix_is_procedure", f"expected true or false, got {suffix!r}"
            )
        return SadMapping(
            declaration=self.paths(data, "declaration", DeclarationPaths, repeated={"items"}),
            item=self.paths(data, "item", ItemPaths, repeated={"supplementary_unit", "documents"}),
            cites_document_codes=self.codes(documents, "[documents] cites"),
            not_concerned_document_codes=self.codes(documents, "[documents] not_concerned"),
            declaration_types=self.flows(self.table(data, "declaration_types", None)),
            re_export_procedures=self.codes(procedures, "[procedures] re_export"),
            type_suffix_is_procedure=suffix,
            units=self.units(self.table(data, "supplementary_units", {"specimens", "cites"})),
        )

    def keys(self, where: str, table: Mapping[str, Any], allowed: Set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise self.fail(where, f"unknown key {unknown[0]!r} (known: {known})")
        missing = sorted(allowed - set(table))
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")

    def table(
        self, data: Mapping[str, Any], name: str, allowed: set[str] | None
    ) -> Mapping[str, Any]:
        table = data.get(name)
        if not isinstance(table, dict):
            raise self.fail(f"[{name}]", "expected a table")
        if allowed is not None:
            self.keys(f"[{name}]", table, allowed)
        return table

    def paths(self, data: Mapping[str, Any], name: str, cls: type, repeated: set[str]) -> Any:
        table = self.table(data, name, {f.name for f in fields(cls)})
        values = {}
        for key, value in table.items():
            where = f"[{name}] {key}"
            alternatives = [value] if isinstance(value, str) else value
            if key in repeated and not isinstance(value, str):
                raise self.fail(where, "expected one path (a string) for a repeated element")
            empty_allowed = key == "hs_code_national"
            if not isinstance(alternatives, list) or (not alternatives and not empty_allowed):
                raise self.fail(where, f"expected a path or a list of paths, got {value!r}")
            for path in alternatives:
                if not isinstance(path, str) or not _PATH.fullmatch(path):
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

    def flows(self, table: Mapping[str, Any]) -> Mapping[str, Flow]:
        if not table:
            raise self.fail("[declaration_types]", "no declaration type is mapped")
        flows = {}
        for code, value in table.items():
            if value not in Flow.__members__:
                known = ", ".join(Flow.__members__)
                raise self.fail(f"[declaration_types] {code}", f"{value!r} is not one of {known}")
            flows[code.strip().upper()] = Flow[value]
        return MappingProxyType(flows)

    def units(self, table: Mapping[str, Any]) -> SupplementaryUnits:
        specimens = self.codes(table, "[supplementary_units] specimens")
        cites = table["cites"]
        if not isinstance(cites, dict):
            raise self.fail("[supplementary_units.cites]", "expected a table of code = CITES unit")
        try:
            return SupplementaryUnits.from_table(sorted(specimens), cites)
        except ValueError as exc:
            raise self.fail("[supplementary_units.cites]", str(exc)) from None
