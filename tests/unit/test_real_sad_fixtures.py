"""The real ASYCUDA World exports in tests/fixtures/asycuda agree with their EXPECTED.yaml,
are redacted and sourced (PROVENANCE.md), and map as expected: every file with its country's
variant of the mapping (config/sad-variants/), and the files marked
``maps_with_default_mapping`` with the default mapping too (issues 9 and 11).
"""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from lxml import etree

from cites_connector.domain.declarations import AttachedDocument
from cites_connector.domain.errors import MappingFailed
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.mappings.asycuda_sad import map_declaration
from cites_connector.mappings.sad_mapping import SadMapping

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "asycuda"
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
    sources = (REAL / "PROVENANCE.md").read_text(encoding="utf-8")
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


def variant(entry) -> SadMapping:
    return SadMapping.variant(entry["mapping"])


def mapped_with_variant(entry):
    return map_declaration(
        raw(entry["file"]), variant(entry), today=TODAY, max_bytes=8 * 1024 * 1024
    )


MAPPED = [f for f in FILES if f["declaration"]["items"] > 0]


@pytest.mark.parametrize("entry", MAPPED, ids=by_file)
def test_every_file_maps_with_its_variant_as_expected(entry):
    declaration = mapped_with_variant(entry)
    expected = entry["declaration"]
    assert declaration.declaration_type == expected["declaration_type"]
    assert declaration.procedure == expected["procedure"]
    assert declaration.flow.value == expected["flow"]
    assert declaration.office == expected["office"]
    assert declaration.export_country == expected["export_country"]
    assert declaration.destination_country == expected["destination_country"]
    assert declaration.declarant_code == expected["declarant_code"]
    assert len(declaration.items) == expected["items"] == expected["items_declared"]
    assert declaration.date_defaulted is expected["date_defaulted"]
    if expected["date_defaulted"]:
        assert declaration.date == TODAY
    else:
        assert declaration.date == expected["date"]
    for checked in entry["items_checked"]:
        item = declaration.items[checked["number"] - 1]
        where = f"item {checked['number']}"
        assert item.hs_code == checked["hs_code"], where
        assert item.origin_country == checked["origin_country"], where
        assert item.supplementary_unit_code == checked["supplementary_unit_code"], where
        assert item.supplementary_unit == checked["supplementary_unit"], where
        quantity = checked["supplementary_quantity"]
        assert item.supplementary_quantity == (None if quantity is None else Decimal(quantity))
        mass = checked["net_mass"]
        assert item.net_mass == (None if mass is None else Decimal(mass)), where


@pytest.mark.parametrize("entry", [f for f in FILES if f["declaration"]["items"] == 0], ids=by_file)
def test_a_header_only_export_is_refused_after_its_type_and_date_are_read(entry):
    """CBJ250 declares 8 items and holds none: IMR (procedure 4) and 11/19/25 are read
    (otherwise the refusal would name them), then the missing items are."""
    with pytest.raises(MappingFailed, match="the declaration has no goods item"):
        mapped_with_variant(entry)


def test_the_licence_number_is_read_as_a_permit_reference_by_the_variant():
    [entry] = [f for f in FILES if "licence" in f]
    declaration = mapped_with_variant(entry)
    number = entry["licence"]["item"]
    item = declaration.items[number - 1]
    assert AttachedDocument("C400", entry["licence"]["Licence_number"]) in item.documents
    # the default mapping does not read the licence fields
    default = map_declaration(raw(entry["file"]), today=TODAY)
    assert all(d.code != "C400" for d in default.items[number - 1].documents)


@pytest.mark.parametrize("case", EXPECTED["reference_normalisation"], ids=lambda c: c["raw"])
def test_albanian_free_text_references_normalise_to_numbers(case):
    rules = SadMapping.variant("albania").references
    assert rules.permit_number(case["raw"]) == case["permit_number"]


@pytest.mark.parametrize("path", sorted(VARIANTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_variant_loads_says_which_exports_it_fits_and_has_a_fixture(path):
    text = path.read_text(encoding="utf-8")
    SadMapping.from_toml(text, source=str(path))
    assert "[proposed" not in text
    assert text.startswith("# SAD mapping for ") and "tests/fixtures/asycuda/" in text
    assert path.stem in {f["mapping"] for f in FILES}
