"""``cites-connector report annual``: a scripted year of clearances on a real ledger (SQLite,
and PostgreSQL when there is one), cleared through the services, reported by the CLI, and
the CSV and the workbook read back cell by cell.

Namibia (NA, Africa/Windhoek: UTC+2) reports 2026. It exports live royal pythons and Nile
crocodile skins to Germany on one export permit (two lines), re-exports pythons of Ghanaian
origin to South Africa, and imports pythons (Appendix II: the South African export permit)
and radiated tortoises (Appendix I: also its own import permit) from South Africa. Left out:
a cancelled export, a write-off at 23:30 on 31 December 2025 and one at 00:30 on 1 January
2027, local time (both inside 2026 in UTC).
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cites_connector.app.application import build_application
from cites_connector.app.settings import load_settings
from cites_connector.cli.main import cli
from cites_connector.domain.declarations import Declaration, Flow
from cites_connector.domain.permits import ConsignmentPolicy, Party, Permit, PermitLine, PermitType
from cites_connector.services.annual_report import HEADERS
from tests.builders import declaration, import_declaration, item

ZONE = "Africa/Windhoek"
GERMAN_BUYER = Party("Terrarium Handel GmbH", "DE")
NAMIBIAN_TRADER = Party("Okavango Reptile Exports CC", "NA", "NA-EXP-0042")
SOUTH_AFRICAN_TRADER = Party("Highveld Reptiles (Pty) Ltd", "ZA")
PYTHONS_HS, SKINS_HS = "01062000", "41032000"

EXPECTED = [
    ["2026", "II", "Crocodylus niloticus", "Reptilia", "Crocodylia", "Crocodylidae", "Crocodylus",
     "SKI", "120.5", "kg", "DE", "NA", "", "26NA000123", "", "", "T", "R"],
    ["2026", "II", "Python regius", "Reptilia", "Serpentes", "Pythonidae", "Python",
     "LIV", "25", "", "DE", "NA", "", "26NA000123", "", "", "T", "C"],
    ["2026", "II", "Python regius", "Reptilia", "Serpentes", "Pythonidae", "Python",
     "LIV", "4", "", "ZA", "NA", "GH", "26NA000124", "", "25GH000077", "T", "C"],
    ["2026", "I", "Astrochelys radiata", "Reptilia", "Testudines", "Testudinidae", "Astrochelys",
     "LIV", "2", "", "NA", "ZA", "", "26ZA004500", "26NA000140", "", "Z", "C"],
    ["2026", "II", "Python regius", "Reptilia", "Serpentes", "Pythonidae", "Python",
     "LIV", "9", "", "NA", "ZA", "", "26ZA004431", "", "", "T", "C"],
]  # fmt: skip


def line(letter: str, taxon: str, quantity: str, **fields: object) -> PermitLine:
    fields.setdefault("appendix", "II")
    fields.setdefault("source", "C")
    fields.setdefault("term", "LIV")
    return PermitLine(line=letter, taxon=taxon, quantity=Decimal(quantity), **fields)  # type: ignore[arg-type]


def permit(number: str, issuer: str, type: PermitType, issued: date, *lines: PermitLine, **kw):
    exporter, importer = kw.pop("parties", (NAMIBIAN_TRADER, GERMAN_BUYER))
    return Permit(
        permit_number=number,
        issuing_country=issuer,
        version=1,
        type=type,
        valid_from=issued,
        valid_until=kw.pop("until", date(2027, 1, 31)),
        lines=lines,
        consignment_policy=ConsignmentPolicy.MULTIPLE,
        issued_on=issued,
        exporter=exporter,
        importer=importer,
        purpose=kw.pop("purpose", "T"),
    )


PERMITS = [
    permit(
        "26NA000123", "NA", PermitType.EXPORT, date(2025, 12, 1),
        line("A", "Python regius", "100"),
        line("B", "Crocodylus niloticus", "500", term="SKI", unit="KIL", source="R",
             origin_country="NA"),
    ),
    permit(
        "26NA000124", "NA", PermitType.RE_EXPORT, date(2026, 4, 1),
        line("A", "Python regius", "10", origin_country="GH", origin_permit_number="25GH000077"),
        parties=(NAMIBIAN_TRADER, SOUTH_AFRICAN_TRADER),
    ),
    permit(
        "26ZA004431", "ZA", PermitType.EXPORT, date(2026, 2, 1),
        line("A", "Python regius", "20", origin_country="ZA"),
        parties=(SOUTH_AFRICAN_TRADER, NAMIBIAN_TRADER), until=date(2026, 7, 31),
    ),
    permit(
        "26ZA004500", "ZA", PermitType.EXPORT, date(2026, 6, 1),
        line("A", "Astrochelys radiata", "2", appendix="I", origin_country="ZA"),
        parties=(SOUTH_AFRICAN_TRADER, NAMIBIAN_TRADER), purpose="Z", until=date(2026, 11, 30),
    ),
    permit(
        "26NA000140", "NA", PermitType.IMPORT, date(2026, 5, 1),
        line("A", "Astrochelys radiata", "2", appendix="I"),
        parties=(SOUTH_AFRICAN_TRADER, NAMIBIAN_TRADER), purpose="Z",
    ),
]  # fmt: skip


def export(on: date, *items, flow: Flow = Flow.EXPORT, to: Party = GERMAN_BUYER) -> Declaration:
    return declaration(
        *items, flow=flow, on=on, destination_country=to.country, consignee=to,
        exporter=NAMIBIAN_TRADER,
    )  # fmt: skip


def from_south_africa(on: date, *items) -> Declaration:
    return import_declaration(
        *items, on=on, export_country="ZA", exporter=SOUTH_AFRICAN_TRADER,
        consignee=NAMIBIAN_TRADER,
    )  # fmt: skip


def skins(number: int, kilograms: str, permit_number: str):
    return item(
        number, SKINS_HS, cites=permit_number, specimens=None, net_mass=kilograms,
        supplementary=kilograms, supplementary_unit="KIL", supplementary_unit_code="KGM",
    )  # fmt: skip


#: (moment of the clearance in UTC, declaration id, declaration); the local date is the
#: declaration's date
YEAR = [
    (datetime(2025, 12, 31, 21, 30, tzinfo=UTC), "E-2025-LAST",
     export(date(2025, 12, 31), item(1, PYTHONS_HS, cites="26NA000123", specimens=5))),
    (datetime(2025, 12, 31, 22, 30, tzinfo=UTC), "E-2026-FIRST",
     export(date(2026, 1, 1), item(1, PYTHONS_HS, cites="26NA000123", specimens=10),
            skins(2, "120.5", "26NA000123"))),
    (datetime(2026, 3, 10, 8, 0, tzinfo=UTC), "E-0310",
     export(date(2026, 3, 10), item(1, PYTHONS_HS, cites="26NA000123", specimens=7),
            item(2, PYTHONS_HS, cites="26NA000123", specimens=8))),
    (datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "I-0315",
     from_south_africa(date(2026, 3, 15), item(1, PYTHONS_HS, cites="26ZA004431", specimens=6))),
    (datetime(2026, 4, 2, 9, 0, tzinfo=UTC), "E-CANCELLED",
     export(date(2026, 4, 2), item(1, PYTHONS_HS, cites="26NA000123", specimens=20))),
    (datetime(2026, 5, 5, 9, 0, tzinfo=UTC), "R-0505",
     export(date(2026, 5, 5), item(1, PYTHONS_HS, cites="26NA000124", specimens=4),
            flow=Flow.RE_EXPORT, to=SOUTH_AFRICAN_TRADER)),
    (datetime(2026, 5, 20, 9, 0, tzinfo=UTC), "I-0520",
     from_south_africa(date(2026, 5, 20), item(1, PYTHONS_HS, cites="26ZA004431", specimens=3))),
    (datetime(2026, 6, 20, 9, 0, tzinfo=UTC), "I-0620",
     from_south_africa(date(2026, 6, 20),
                       item(1, PYTHONS_HS, cites=["26ZA004500", "26NA000140"], specimens=2))),
    (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), "E-2027-FIRST",
     export(date(2027, 1, 1), item(1, PYTHONS_HS, cites="26NA000123", specimens=2))),
]  # fmt: skip


class Clock:
    now = datetime(2025, 11, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def settings_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_TIMEZONE", ZONE)
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")


@pytest.fixture
def run(settings_env, monkeypatch, database_url):
    """The CLI on a migrated ledger holding the scripted year."""
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    clock = Clock()
    app = build_application(load_settings(), clock=clock)
    try:
        for p in PERMITS:
            assert app.permits.apply(p).applied
        for moment, declaration_id, declared in YEAR:
            clock.now = moment
            outcome = app.clearance.clear(declaration_id, 1, declared)
            assert outcome.decision.decision.value == "CLEARED", (declaration_id, outcome)
            if declaration_id == "E-CANCELLED":
                app.clearance.cancel(declaration_id, "goods not shipped")
    finally:
        app.close()
    return invoke


def test_the_csv_on_stdout_lists_the_years_cleared_trade_cell_by_cell(run):
    result = run("report", "annual", "--year", "2026")
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.output)))
    assert header == list(HEADERS)
    assert rows == EXPECTED


def test_the_workbook_holds_the_same_cells_with_numbers_as_numbers(run, tmp_path):
    path = tmp_path / "annual-2026.xlsx"
    result = run("report", "annual", "--year", "2026", "--format", "xlsx", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert "5 row(s) of 2026 written to" in result.output
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Annual report", "About"]
    sheet = book["Annual report"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == list(HEADERS)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.max_row == 1 + len(EXPECTED)
    for expected, cells in zip(EXPECTED, sheet.iter_rows(min_row=2), strict=True):
        year, quantity = cells[0].value, cells[8].value
        assert isinstance(year, int) and year == 2026
        assert isinstance(quantity, int | float) and Decimal(str(quantity)) == Decimal(expected[8])
        texts = [c.value or "" for n, c in enumerate(cells) if n not in (0, 8)]
        assert texts == [v for n, v in enumerate(expected) if n not in (0, 8)]
    assert sheet.column_dimensions["C"].width >= len("Crocodylus niloticus")
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert about["Reporting country"] == "NA" and about["Year"] == 2026
    assert about["Time zone"] == ZONE and about["Rows"] == 5
    assert about["Connector version"] and about["Generated"]
    assert "not list what was permitted" in about["Note"]


def test_the_csv_to_a_file_and_an_empty_year(run, tmp_path):
    path = tmp_path / "annual.csv"
    assert run("report", "annual", "--year", "2026", "--output", str(path)).exit_code == 0
    assert list(csv.reader(path.open(encoding="utf-8")))[1:] == EXPECTED
    empty = run("report", "annual", "--year", "2024")
    assert empty.exit_code == 0 and empty.output == ",".join(HEADERS) + "\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--year", "26x"], "not a report year: '26x'"),
        (["--year", "1974"], "not a report year"),
        (["--year", "2026", "--format", "xlsx"], "name the file with --output"),
        (["--year", "2026", "--output", "/nonexistent-dir/r.csv"], "no directory"),
        (["--year", "2026", "--output", "/"], "it is a directory"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2_before_the_ledger_is_read(settings_env, args, says):
    result = CliRunner().invoke(cli, ["report", "annual", *args])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and says in result.output
    assert result.output.count("\n") == 1


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root bypasses file permissions; for root the refused write is the /proc test below",
)
def test_an_unwritable_file_is_one_line_and_exit_2(settings_env, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = CliRunner().invoke(
            cli, ["report", "annual", "--year", "2026", "--output", str(folder / "r.csv")]
        )
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2 and result.output.startswith("error: cannot write")
    assert not (folder / "r.csv").exists()


def test_a_database_out_of_reach_is_exit_3_and_leaves_no_file(settings_env, tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:9/ledger")
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(
        cli, ["report", "annual", "--year", "2026", "--format", "xlsx", "--output", str(out)]
    )
    assert result.exit_code == 3, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert not Path(out).exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_file_the_system_refuses_is_one_line_and_exit_2_after_reading(run):
    # /proc takes no new files, not even from root: the write itself fails
    result = run("report", "annual", "--year", "2026", "--output", "/proc/annual.csv")
    assert result.exit_code == 2
    assert result.output == "error: cannot write /proc/annual.csv: No such file or directory\n"
