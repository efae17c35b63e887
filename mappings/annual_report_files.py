"""The CITES annual report's rows as files: CSV (the csv module) and XLSX (openpyxl).

Both carry the Guidelines' columns in their order (``services.annual_report.HEADERS``). The
CSV is the data alone: one header, one line per row, quantities in plain decimal notation.
The workbook holds the same rows on its first sheet, with the numbers as numbers (the year,
the quantity: written from their exact decimals, never through a float) so a Management
Authority can add them up, and a second sheet, "About", saying what the report is.

The text cells come from outside (a permit system's line, a SAD's country): a spreadsheet
must not run them. In the workbook every text is a string cell, never a formula, and the
control characters XLSX cannot hold are shown as ``\\x1b``-style escapes; in the CSV a text
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
(OWASP's advice against CSV injection), which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO, TextIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cites_connector.domain.units import format_decimal
from cites_connector.services.annual_report import HEADERS, AnnualReportRow

REPORT_SHEET = "Annual report"
ABOUT_SHEET = "About"
#: what the report is, said on the "About" sheet and in the documentation
NOTE = (
    "This report lists the trade the connector cleared at the border: the quantities written "
    "off permit lines by cleared customs declarations, by the date of the write-off. It does "
    "not list what was permitted: permits not used, and declarations cancelled, add nothing."
)
#: widest a column is made, in characters (a long taxon name wraps in the cell, not the sheet)
_MAX_WIDTH = 40


@dataclass(frozen=True)
class ReportAbout:
    """What the "About" sheet says of the report."""

    reporting_country: str
    year: int
    generated_at: datetime
    connector_version: str
    time_zone: str


#: what a spreadsheet may read as the start of a formula in a CSV cell
_FORMULA_START = re.compile(r"[=+\-@\t\r]")


def _text(value: int | str | Decimal) -> str:
    return format_decimal(value) if isinstance(value, Decimal) else str(value)


def _csv_cell(value: int | str | Decimal) -> str:
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return _text(value)


def write_csv(rows: Sequence[AnnualReportRow], stream: TextIO) -> None:
    """RFC 4180 as the CLI's other CSVs write it: the header, then one line per row."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row.cells()])


def _cell_value(value: int | str | Decimal) -> int | str | Decimal | None:
    """Numbers stay numbers (openpyxl writes a Decimal's own digits); empty text: no value;
    control characters XLSX cannot hold, escaped."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value) or None
    return value


def write_xlsx(rows: Sequence[AnnualReportRow], about: ReportAbout, stream: BinaryIO) -> None:
    """The rows on the first sheet (bold header, frozen under it, columns as wide as their
    widest cell up to 40 characters), and the "About" sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = REPORT_SHEET
    sheet.append(list(HEADERS))
    for header_cell in sheet[1]:
        header_cell.font = Font(bold=True)
    widths = [len(h) for h in HEADERS]
    for number, row in enumerate(rows, start=2):
        cells = row.cells()
        values = [_cell_value(v) for v in cells]
        sheet.append(values)
        for column, value in enumerate(values, start=1):
            if isinstance(value, str):  # text, never a formula (openpyxl reads "=..." so)
                sheet.cell(row=number, column=column).data_type = "s"
        widths = [max(w, len(_text(v))) for w, v in zip(widths, cells, strict=True)]
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width, _MAX_WIDTH) + 2

    notes = book.create_sheet(ABOUT_SHEET)
    for label, value in (
        ("Reporting country", about.reporting_country),
        ("Year", about.year),
        ("Generated", about.generated_at.isoformat(timespec="seconds")),
        ("Time zone", about.time_zone),
        ("Connector version", about.connector_version),
        ("Rows", len(rows)),
        ("Note", NOTE),
    ):
        notes.append([label, value])
    for label_cell in notes["A"]:
        label_cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 100
    book.save(stream)
