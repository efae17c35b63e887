"""The CITES annual report's rows from the year's cleared write-offs (services/annual_report.py):
one row per permit line and direction of trade, in the Guidelines' columns and units."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import PermitType
from cites_connector.domain.taxonomy import Taxon, Taxonomy
from cites_connector.services.annual_report import (
    HEADERS,
    ClearedWriteOff,
    annual_report_rows,
    year_bounds,
)

TAXONOMY = Taxonomy(
    [
        Taxon("Animalia", "KINGDOM", None),
        Taxon("Reptilia", "CLASS", "Animalia"),
        Taxon("Aves", "CLASS", "Animalia"),
        Taxon("Serpentes", "ORDER", "Reptilia"),
        Taxon("Psittaciformes", "ORDER", "Aves"),
        Taxon("Pythonidae", "FAMILY", "Serpentes"),
        Taxon("Psittacidae", "FAMILY", "Psittaciformes"),
        Taxon("Python", "GENUS", "Pythonidae"),
        Taxon("Psittacus", "GENUS", "Psittacidae"),
        Taxon("Python regius", "SPECIES", "Python"),
        Taxon("Psittacus erithacus", "SPECIES", "Psittacus"),
    ]
)
AT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

EXPORT = ClearedWriteOff(
    declaration_id="E1",
    declaration_version=1,
    item_number=1,
    flow=Flow.EXPORT,
    export_country="NA",
    destination_country="DE",
    permit_number="26NA000123",
    issuing_country="NA",
    permit_type=PermitType.EXPORT,
    purpose="T",
    permit_exporter_country="NA",
    permit_importer_country="DE",
    line="A",
    taxon="Python regius",
    appendix="II",
    source="C",
    term="LIV",
    origin_country="NA",
    origin_permit_number=None,
    quantity=Decimal(10),
    unit=None,
    recorded_at=AT,
)


def rows(*write_offs: ClearedWriteOff):
    return [r.cells() for r in annual_report_rows(write_offs, 2026, "NA", TAXONOMY)]


def test_an_export_is_one_row_in_the_guidelines_columns():
    assert len(HEADERS) == 18
    assert rows(EXPORT) == [
        (2026, "II", "Python regius", "Reptilia", "Serpentes", "Pythonidae", "Python", "LIV",
         Decimal(10), "", "DE", "NA", "", "26NA000123", "", "", "T", "C"),
    ]  # fmt: skip


def test_items_and_declarations_drawing_on_one_line_are_added_up():
    second_item = replace(EXPORT, item_number=2, quantity=Decimal("2.5"))
    other_declaration = replace(EXPORT, declaration_id="E2", quantity=Decimal(3))
    (row,) = rows(EXPORT, second_item, other_declaration)
    assert row[8] == Decimal("15.5")


def test_two_lines_of_one_permit_stay_two_rows():
    line_b = replace(EXPORT, item_number=2, line="B", quantity=Decimal(4))
    assert [r[8] for r in rows(EXPORT, line_b)] == [Decimal(10), Decimal(4)]


def test_an_appendix_i_import_counts_the_specimens_once_and_names_both_permits():
    export_permit = replace(
        EXPORT,
        declaration_id="I1",
        flow=Flow.IMPORT,
        export_country="ZA",
        destination_country="NA",
        permit_number="26ZA004431",
        issuing_country="ZA",
        permit_exporter_country="ZA",
        permit_importer_country="NA",
        taxon="Psittacus erithacus",
        appendix="I",
        origin_country="ZA",
        purpose="Z",
        quantity=Decimal(2),
    )
    import_permit = replace(
        export_permit,
        permit_number="26NA000140",
        issuing_country="NA",
        permit_type=PermitType.IMPORT,
    )
    assert rows(import_permit, export_permit) == [
        (2026, "I", "Psittacus erithacus", "Aves", "Psittaciformes", "Psittacidae", "Psittacus",
         "LIV", Decimal(2), "", "NA", "ZA", "", "26ZA004431", "26NA000140", "", "Z", "C"),
    ]  # fmt: skip


def test_a_re_export_names_the_origin_and_its_permit():
    re_export = replace(
        EXPORT,
        flow=Flow.RE_EXPORT,
        permit_type=PermitType.RE_EXPORT,
        origin_country="GH",
        origin_permit_number="25GH000077",
    )
    (row,) = rows(re_export)
    assert (row[10], row[11], row[12], row[13], row[15]) == (
        "DE", "NA", "GH", "26NA000123", "25GH000077",
    )  # fmt: skip


def test_units_are_the_guidelines_and_tonnes_become_kilograms_exactly():
    kilos = replace(EXPORT, term="SKI", unit="KIL", quantity=Decimal("12.5"))
    tonnes = replace(EXPORT, item_number=2, term="SKI", unit="TON", quantity=Decimal("0.0015"))
    pieces = replace(EXPORT, item_number=3, unit="PCS", quantity=Decimal(1))
    by_term = {(r[7], r[9]): r[8] for r in rows(kilos, tonnes, pieces)}
    assert by_term == {("SKI", "kg"): Decimal(14), ("LIV", ""): Decimal(1)}


def test_an_import_permit_alone_gives_the_exporter_from_the_declaration():
    alone = replace(
        EXPORT,
        flow=Flow.IMPORT,
        permit_type=PermitType.IMPORT,
        export_country="BW",
        destination_country="NA",
    )
    (row,) = rows(alone)
    assert (row[10], row[11], row[13], row[14]) == ("NA", "BW", "", "26NA000123")


def test_transit_is_not_reported_and_an_unknown_taxon_has_no_higher_taxa():
    assert rows(replace(EXPORT, flow=Flow.TRANSIT)) == []
    (row,) = rows(replace(EXPORT, taxon="Nonexistus fictus"))
    assert row[2:7] == ("Nonexistus fictus", "", "", "", "")


def test_the_year_runs_from_midnight_to_midnight_in_the_administrations_zone():
    start, end = year_bounds(2026, ZoneInfo("Africa/Windhoek"))
    assert start.astimezone(UTC) == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
