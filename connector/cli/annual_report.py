"""``cites-connector report annual``: the CITES annual report of the trade the connector
cleared (docs/annual-report.md), as CSV or as an XLSX workbook.

The report is built in memory and written only once it is whole: a database out of reach
(exit 3) or a bad year (exit 2) leaves no file behind, and an output that cannot be written
is said before the ledger is read.
"""

from __future__ import annotations

import io
import os
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import progress
from cites_connector.domain.errors import InvalidInput

#: CITES entered into force on 1 July 1975: no trade was cleared under it before
FIRST_YEAR = 1975


@cli.group()
def report() -> None:
    """Reports for the Management Authority, from what the connector cleared."""


def _check_year(year: str) -> int:
    if not year.isdigit() or not FIRST_YEAR <= int(year) <= date.max.year - 1:
        raise InvalidInput(f"not a report year: {year!r} (a year from {FIRST_YEAR}, e.g. 2026)")
    return int(year)


def _check_output(path: Path | None, file_format: str) -> None:
    if path is None:
        if file_format == "xlsx":
            raise InvalidInput("--format xlsx writes a workbook: name the file with --output")
        return
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InvalidInput(f"cannot write {path}: it is a directory")
    if not folder.is_dir():
        raise InvalidInput(f"cannot write {path}: no directory {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidInput(f"cannot write {path}: permission denied")


def _connector_version() -> str:
    try:
        return version("cites-connector")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


@report.command()
@click.option("--year", "year", required=True, metavar="YYYY", help="The calendar year to report.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(("csv", "xlsx")),
    default="csv",
    show_default=True,
    help="csv (the rows) or xlsx (a workbook: the rows and an About sheet; needs --output).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="The file to write (replaced if it exists); default: the CSV on standard output.",
)
@click.pass_obj
@handle_errors
def annual(obj: Context, year: str, file_format: str, output: Path | None) -> None:
    """The CITES annual report of the trade cleared in a year: one row per permit line and
    direction of trade, in the layout of the CITES Guidelines for annual reports.

    Counts the write-offs of cleared declarations by their date in the administration's
    time zone (timezone setting); cancelled declarations and transit are left out."""
    from cites_connector.adapters.sql.annual_trade import SqlAnnualTradeReader
    from cites_connector.app.application import load_taxonomy
    from cites_connector.mappings.annual_report_files import ReportAbout, write_csv, write_xlsx
    from cites_connector.services.annual_report import annual_report_rows, year_bounds

    reported = _check_year(year)
    _check_output(output, file_format)
    settings, app = obj.settings, obj.app
    zone = ZoneInfo(settings.timezone)
    with progress(f"Annual report {reported}") as step:
        step(0, 2)
        write_offs = SqlAnnualTradeReader(app.engine).cleared_write_offs(
            *year_bounds(reported, zone)
        )
        step(1, 2)
        rows = annual_report_rows(
            write_offs, reported, settings.home_country, load_taxonomy(settings)
        )
        step(2, 2)
    if file_format == "csv":
        text = io.StringIO()
        write_csv(rows, text)
        if output is None:
            click.echo(text.getvalue(), nl=False)
            return
        content = text.getvalue().encode("utf-8")
    else:
        about = ReportAbout(
            reporting_country=settings.home_country,
            year=reported,
            generated_at=app.clock().astimezone(zone),
            connector_version=_connector_version(),
            time_zone=settings.timezone,
        )
        book = io.BytesIO()
        write_xlsx(rows, about, book)
        content = book.getvalue()
    assert output is not None  # checked: only CSV goes to standard output
    try:
        output.write_bytes(content)
    except OSError as exc:
        raise InvalidInput(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"{len(rows)} row(s) of {reported} written to {output}")
