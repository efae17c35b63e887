"""The declarative SAD mapping (contract section 2): element paths in a TOML file, not in code.

ASYCUDA World versions and national configurations move fields around; an administration
adapts the connector by editing ``sad_mapping.toml`` (or a copy holding only the keys it
changes), never Python. The file is checked when loaded (``sad_mapping_reader.py``), and
every complaint names the table and key, because the person reading it is an administrator,
not the developer. Bundled variants for real national exports are in ``config/sad-variants/``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cites_connector import config as _config_package
from cites_connector.domain.declarations import Flow
from cites_connector.mappings.sad_dates import DateFormats
from cites_connector.mappings.sad_mapping_reader import InvalidMappingFile, MappingReader
from cites_connector.mappings.sad_paths import DeclarationPaths, ItemPaths
from cites_connector.mappings.sad_references import ReferenceRules
from cites_connector.mappings.supplementary_units import SupplementaryUnits

__all__ = ["DEFAULT_FILE", "VARIANTS_DIR", "InvalidMappingFile", "SadMapping", "variant_names"]

DEFAULT_FILE = Path(__file__).with_name("sad_mapping.toml")
#: bundled mapping files for national exports, chosen by CONNECTOR_SAD_MAPPING_VARIANT
VARIANTS_DIR = Path(_config_package.__file__).resolve().parent / "sad-variants"


def variant_names() -> list[str]:
    return sorted(p.stem for p in VARIANTS_DIR.glob("*.toml"))


@dataclass(frozen=True)
class SadMapping:
    declaration: DeclarationPaths
    item: ItemPaths
    cites_document_codes: frozenset[str]
    not_concerned_document_codes: frozenset[str]
    #: (v2) codes claiming an exemption (e.g. Y932, Art. VII(3)): EXEMPTION_CLAIMED
    exemption_document_codes: frozenset[str]
    #: (v2) the CITES document code a filled Item/Licence_number is cited as; None: not read
    licence_document_code: str | None
    #: (v2) how a CITES document's reference is made into a permit number
    references: ReferenceRules
    #: (v2) registration date formats, tried in order, never guessed
    date_formats: DateFormats
    #: Type_of_declaration -> flow
    declaration_types: Mapping[str, Flow]
    #: (v2) (Type_of_declaration, general procedure code) -> flow, checked first
    type_procedures: Mapping[tuple[str, str], Flow]
    #: procedure codes that make an export a re-export
    re_export_procedures: frozenset[str]
    #: read "EX3" as type "EX", procedure "3" (see the TOML file)
    type_suffix_is_procedure: bool
    units: SupplementaryUnits

    @classmethod
    def default(cls) -> SadMapping:
        return _default()

    @classmethod
    def variant(cls, name: str) -> SadMapping:
        """A bundled variant (``config/sad-variants/<name>.toml``) over the defaults."""
        path = VARIANTS_DIR / f"{name}.toml"
        if name not in variant_names():
            raise InvalidMappingFile(
                f"no SAD mapping variant {name!r} (bundled: {', '.join(variant_names())})"
            )
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: str | Path) -> SadMapping:
        """Load an administration's mapping; keys it leaves out keep their default value."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidMappingFile(f"{path}: cannot be read: {exc}") from None
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "mapping file") -> SadMapping:
        try:
            overrides = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidMappingFile(f"{source}: not valid TOML: {exc}") from None
        return cls.from_dict(_merge(_default_table(), overrides), source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "mapping file") -> SadMapping:
        return cls(**MappingReader(source).fields(data))


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
