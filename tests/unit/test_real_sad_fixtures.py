"""The real ASYCUDA World exports in tests/fixtures/sad/real agree with their EXPECTED.yaml,
are redacted, and the files the default mapping reads today map as expected (issue 9).

The country variants the mapping does not support yet (m/d/yy dates, IMR, ...) are asserted
by the engineer who adds them, from the same EXPECTED.yaml: ``maps_with_default_mapping``
says which files the default mapping reads today.
"""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from lxml import etree

from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_mapping import SadMapping

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "sad" / "real"
VARIANTS = ROOT / "config" / "sad-variants"
EXPECTED = yaml.safe_load((REAL / "EXPECTED.yaml").read_text(encoding="utf-8"))
FILES = EXPECTED["files"]
TODAY = date(2026, 12, 1)
REDACTED = {None, "REDACTED REPRESENTATIVE"}


def raw(name: str) -> bytes:
    data = (REAL / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parsed(name: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(raw(name), parser)


def text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.find("null") is not None:
        return None
    return " ".join("".join(found.itertext()).split()) or None


def hs_code(item: etree._Element) -> str:
    return (text(item, "Tarification/HScode/Commodity_code") or "") + (
        text(item, "Tarification/HScode/Precision_1") or ""
    )


def by_file(entry):
    return entry["file"]


def test_every_fixture_file_is_described_and_sourced():
    listed = {f["file"] for f in FILES}
    present = {p.name for p in REAL.iterdir() if p.name.endswith((".xml", ".xml.gz"))}
    assert listed == present
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    assert [name for name in sorted(listed) if f"`{name}`" not in sources] == []
    assert len({f["country"] for f in FILES}) >= 3 and len(FILES) >= 5


@pytest.mark.parametrize("entry", FILES, ids=by_file)
def test_the_file_holds_what_expected_yaml_says(entry):
    root = parsed(entry["file"])
    assert root.tag == "ASYCUDA"
    declaration = entry["declaration"]
    items = root.findall("Item")
    assert len(items) == declaration["items"]
    assert text(root, "Identification/Type/Type_of_declaration") == declaration["declaration_type"]
    assert (
        text(root, "Identification/Type/Declaration_gen_procedure_code") == declaration["procedure"]
    )
    for checked in entry["items_checked"]:
        assert hs_code(items[checked["number"] - 1]) == checked["hs_code"], checked["number"]


@pytest.mark.parametrize("entry", FILES, ids=by_file)
def test_no_natural_person_is_named_as_declarant_representative(entry):
    root = parsed(entry["file"])
    names = {text(el, ".") for el in root.iter("Declarant_representative")}
    assert names <= REDACTED


@pytest.mark.parametrize("entry", FILES, ids=by_file)
def test_cites_items_are_those_the_bundled_hs_table_names(entry):
    tables = load_bundled_tables()
    items = parsed(entry["file"]).findall("Item")
    found = [
        n
        for n, item in enumerate(items, start=1)
        if tables.lookup(hs_code(item), TODAY) is not None
    ]
    assert found == [c["number"] for c in entry["cites_items"]]


@pytest.mark.parametrize("entry", [f for f in FILES if f["maps_with_default_mapping"]], ids=by_file)
def test_files_the_default_mapping_reads_map_as_expected(entry):
    declaration = map_declaration(raw(entry["file"]), today=TODAY, max_bytes=8 * 1024 * 1024)
    expected = entry["declaration"]
    assert declaration.flow.value == expected["flow"]
    assert len(declaration.items) == expected["items"]
    assert declaration.date_defaulted is expected["date_defaulted"]
    if expected["date_defaulted"]:
        assert declaration.date == TODAY
    for checked in entry["items_checked"]:
        item = declaration.items[checked["number"] - 1]
        assert item.hs_code == checked["hs_code"]
        code = checked["supplementary_unit_code"]
        if code in {"NMB", "C62", "NPR", "PR", "LTR", "KGM", "MTR", "MTQ"}:
            assert item.supplementary_unit == checked["supplementary_unit"], checked["number"]
            assert item.supplementary_quantity == Decimal(checked["supplementary_quantity"])


@pytest.mark.parametrize("path", sorted(VARIANTS.glob("*.toml")), ids=lambda p: p.name)
def test_the_variant_files_load_today_up_to_their_proposed_keys(path):
    """The part of each proposal in today's format must be a valid mapping file; the
    ``[proposed.*]`` tables come last and are what the mapping does not read yet."""
    current, _, proposed = path.read_text(encoding="utf-8").partition("\n[proposed")
    assert proposed, "a variant file lists its new keys under [proposed.*]"
    SadMapping.from_toml(current, source=str(path))
    with pytest.raises(ValueError):
        SadMapping.from_toml(path.read_text(encoding="utf-8"), source=str(path))
