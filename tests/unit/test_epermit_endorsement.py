"""ePermit boxes 14 and 12: the endorsed quantity (exported_quantity) and the origin permit of
a re-export (origin_permit_number), contract 3.1 (v2), read from Toolkit v2 and v1 documents.

The fixture epix-v2-re-export-endorsed.xml is EPIX's real v2 sample with real country codes and
box 14 of line A filled in (tests/fixtures/epermit/README.md).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cites_connector.domain.errors import InvalidPermit
from cites_connector.mappings.epermit_xml import parse_epermit
from cites_connector.mappings.permit_json import parse_permit, permit_to_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "epermit"
ENDORSED_V2 = FIXTURES / "epix-v2-re-export-endorsed.xml"
CROCODILE_V1 = FIXTURES / "26NA000152-crocodylus-skins-v1-epix.xml"
BOX14_V2 = '<urn1:UnitQuantity unitCode="PCS">4</urn1:UnitQuantity>'
EMPTY_BOX14_V1 = '<urn1:InspectedUnitQuantity unitCode="?"></urn1:InspectedUnitQuantity>'


def endorsed(old: str | None = None, new: str = "") -> bytes:
    text = ENDORSED_V2.read_text(encoding="utf-8")
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def refused(data: bytes) -> str:
    with pytest.raises(InvalidPermit) as caught:
        parse_epermit(data, version=1)
    return caught.value.message


def test_box_14_and_the_origin_permit_of_a_re_export_are_read():
    permit = parse_epermit(endorsed(), version=1)
    line_a, line_b = permit.lines
    assert (line_a.exported_quantity, line_a.unit) == (Decimal("4"), "PCS")
    assert (line_a.origin_country, line_a.origin_permit_number) == ("US", "US12345")
    # line B's box 14 and box 12 permit are empty elements: absent, not zero
    assert (line_b.exported_quantity, line_b.origin_permit_number) == (None, None)
    assert line_b.origin_country == "TH"
    assert "last re-export: FR, FR1202501030-R" in (line_b.description or "")
    assert "common name: Siamese Crocodile" in (line_b.description or "")


def test_toolkit_v1_inspected_quantity_is_box_14():
    data = CROCODILE_V1.read_text(encoding="utf-8").replace(
        EMPTY_BOX14_V1,
        '<urn1:InspectedUnitQuantity unitCode="NAR">118</urn1:InspectedUnitQuantity>',
    )
    line_a = parse_epermit(data.encode(), version=1).lines[0]
    assert line_a.unit is None and line_a.exported_quantity == Decimal("118")


def test_box_14_in_another_unit_than_the_line_is_refused_naming_the_element():
    message = refused(endorsed(BOX14_V2, '<urn1:UnitQuantity unitCode="KGM">4</urn1:UnitQuantity>'))
    assert "ExaminationTransportEvent/UnitQuantity" in message and "'KGM'" in message


def test_box_14_that_is_not_a_quantity_is_refused_naming_the_element():
    message = refused(
        endorsed(BOX14_V2, '<urn1:UnitQuantity unitCode="PCS">-4</urn1:UnitQuantity>')
    )
    assert "exported_quantity" in message and "ExaminationTransportEvent/UnitQuantity" in message


def test_two_endorsed_quantities_for_one_line_are_refused_not_guessed():
    both = BOX14_V2 + '<urn1:InspectedUnitQuantity unitCode="PCS">5</urn1:InspectedUnitQuantity>'
    assert "2 endorsed quantities" in refused(endorsed(BOX14_V2, both))


def test_an_export_permit_has_no_last_re_export_note():
    data = endorsed(
        '<urn1:TypeCode listID="1001" listAgencyID="6">R</urn1:TypeCode>',
        '<urn1:TypeCode listID="1001" listAgencyID="6">E</urn1:TypeCode>',
    )
    for line in parse_epermit(data, version=1).lines:
        assert "last re-export" not in (line.description or "")


def test_the_new_line_fields_round_trip_through_the_json_body():
    permit = parse_epermit(endorsed(), version=1)
    body = permit_to_json(permit)
    assert body["lines"][0]["exported_quantity"] == "4"
    assert body["lines"][0]["origin_permit_number"] == "US12345"
    assert "exported_quantity" not in body["lines"][1]  # absent stays absent
    assert parse_permit(body | {"version": 1}) == permit


def test_notes_are_cut_to_the_description_limit_but_a_long_box_9_is_still_refused():
    long_conditions = "Only by air. " * 100
    data = endorsed(
        '<urn1:Information languageID="EN">For live animals,',
        f'<urn1:Information languageID="EN">{long_conditions}For live animals,',
    )
    line = parse_epermit(data, version=1).lines[0]
    assert len(line.description or "") == 1000 and (line.description or "").endswith("…")
    too_long = endorsed(
        '<urn1:Description languageID="EN">watchstraps</urn1:Description>',
        f'<urn1:Description languageID="EN">{"w" * 1001}</urn1:Description>',
    )
    assert "description" in refused(too_long) and "1000" in refused(too_long)
