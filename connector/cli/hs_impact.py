"""``cites-connector hs impact|convert``: what a draft would change, and the HS 2027 draft."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.hs import (
    CSV_IN,
    CSV_OUT,
    DATE,
    day,
    hs,
    reason_option,
    service,
    write_text,
)
from cites_connector.cli.main import Context, handle_errors
from cites_connector.cli.output import (
    Column,
    Listing,
    emit,
    emit_json,
    emit_table,
    format_option,
    progress,
)

if TYPE_CHECKING:
    from cites_connector.domain.hs_admin_impact import ImpactReport

IMPACT_COLUMNS = (
    "kind",
    "declaration_id",
    "version",
    "declaration_date",
    "item_number",
    "hs_code",
    "chapter",
    "change",
    "count",
    "table_before",
    "taxa_before",
    "taxa_after",
    "before",
    "after",
)


def impact_csv(report: ImpactReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, IMPACT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in report.items:
        writer.writerow(
            {
                "kind": "item",
                "declaration_id": i.declaration_id,
                "version": i.version,
                "declaration_date": i.declaration_date,
                "item_number": i.item_number,
                "hs_code": i.hs_code,
                "chapter": i.chapter,
                "change": i.change,
                "table_before": i.table_before,
                "taxa_before": " ".join(i.taxa_before),
                "taxa_after": " ".join(i.taxa_after),
                "before": i.status_before,
                "after": i.status_after,
            }
        )
    for d in report.declarations:
        writer.writerow(
            {
                "kind": "declaration",
                "declaration_id": d.declaration_id,
                "version": d.version,
                "declaration_date": d.declaration_date,
                "change": "DECISION_CHANGED",
                "table_before": d.table_before,
                "before": d.decision_before,
                "after": d.decision_after,
            }
        )
    for chapter, counts in report.chapters().items():
        for change, count in sorted(counts.items()):
            writer.writerow(
                {"kind": "chapter", "chapter": chapter, "change": change, "count": count}
            )
    return out.getvalue()


ITEM_COLUMNS = (
    Column("declaration_id", "Declaration"),
    Column("item_number", "Item"),
    Column("hs_code", "HS code"),
    Column("change", "Change"),
    Column("table_before", "Table before"),
    Column("taxa_before", "Taxa before"),
    Column("taxa_after", "Taxa after"),
    Column("status_before", "Status before"),
    Column("status_after", "Status after"),
)
DECLARATION_COLUMNS = (
    Column("declaration_id", "Declaration"),
    Column("version", "Version"),
    Column("declaration_date", "Date"),
    Column("table_before", "Table before"),
    Column("decision_before", "Before"),
    Column("decision_after", "After"),
)


def impact_document(report: ImpactReport) -> dict[str, Any]:
    return {
        "draft": report.draft,
        "since": report.since,
        "declarations_examined": report.declarations_examined,
        "items_examined": report.items_examined,
        "items": [asdict(i) | {"chapter": i.chapter} for i in report.items],
        "declarations": [asdict(d) for d in report.declarations],
        "chapters": {c: dict(sorted(n.items())) for c, n in report.chapters().items()},
        "skipped": [{"declaration_id": d, "why": why} for d, why in report.skipped],
    }


@hs.command()
@refuses_user
@click.argument("ref")
@click.option(
    "--since",
    type=DATE,
    default=None,
    help="Only declarations dated on or after this day (default: all).",
)
@click.option(
    "--csv",
    "csv_file",
    type=CSV_OUT,
    default=None,
    help="Also write the report as CSV to this file ('-': standard output only).",
)
@format_option
@click.pass_obj
@handle_errors
def impact(obj: Context, ref: str, since: datetime | None, csv_file: Path | None, fmt: str) -> None:
    """Decide recorded declarations again with REF instead of their table; writes nothing.
    The CSV (--format csv, or --csv FILE) has one row per changed item, per changed
    declaration and per HS chapter."""
    from cites_connector.domain.hs_admin_impact import KINDS

    app = obj.app
    with progress(f"Deciding again with {ref}") as step:
        report = service(obj).impact(ref, day(since), app.ledger, app.rulebook, step)
    text = impact_csv(report)
    if (csv_file is not None and str(csv_file) == "-") or fmt == "csv":
        click.echo(text, nl=False)
        return
    if csv_file is not None:
        write_text(csv_file, text)
    if fmt == "json":
        emit_json(impact_document(report))
        return
    click.echo(
        f"Impact of {report.draft} on {report.declarations_examined} declaration(s), "
        f"{report.items_examined} item(s)"
        + (f" dated from {report.since}" if report.since else "")
        + ": nothing written\n"
    )
    chapters = [{"chapter": c} | dict(n) for c, n in report.chapters().items()]
    emit(
        fmt,
        None,
        Listing(
            "item",
            ITEM_COLUMNS,
            [asdict(i) for i in report.items],
            title=f"Items that change ({len(report.items)}):",
        ),
        Listing(
            "declaration",
            DECLARATION_COLUMNS,
            [asdict(d) for d in report.declarations],
            title=f"Declarations whose decision changes ({len(report.declarations)}):",
        ),
        Listing(
            "chapter",
            [Column("chapter", "Chapter"), *(Column(k, k) for k in KINDS)],
            [c | {k: c.get(k, 0) for k in KINDS} for c in chapters],
            title="Per HS chapter:",
        ),
    )
    for did, why in report.skipped:
        click.echo(f"  not decided again: {did}: {why}")
    if csv_file is not None:
        click.echo(f"\nCSV written to {csv_file}")


CODE_COLUMNS = (
    Column("old", "Old code"),
    Column("kind", "Kind"),
    Column("new", "New code(s)"),
    Column("rows", "Rows"),
)


@hs.command()
@acting
@click.option("--from", "from_edition", required=True, help="Edition converted from (HS2022).")
@click.option("--to", "to_edition", required=True, help="Edition converted to (HS2027).")
@click.option(
    "--correlation",
    type=CSV_IN,
    required=True,
    help="Correlation CSV: old_code,new_code (or columns named by edition).",
)
@click.option(
    "--base",
    default=None,
    help="Version to convert (default: the --from edition's version in force).",
)
@reason_option
@format_option
@click.pass_obj
@handle_errors
def convert(
    obj: Context,
    from_edition: str,
    to_edition: str,
    correlation: Path,
    base: str | None,
    actor: str,
    reason: str,
    fmt: str,
) -> None:
    """Build a draft of the new edition; split and merged codes are flagged for review."""
    from cites_connector.domain.hs_admin_convert import parse_correlation

    pairs = parse_correlation(
        correlation.read_text(encoding="utf-8-sig"),
        from_edition.upper(),
        to_edition.upper(),
        correlation.name,
    )
    with progress(f"Converting to {to_edition.upper()}"):
        created, conversion = service(obj).convert(
            actor, pairs, source=correlation.name, base=base, reason=reason
        )
    changed = [c for c in conversion.codes if c.kind != "unchanged"]
    codes = [{"old": c.old, "kind": c.kind, "new": list(c.new), "rows": c.rows} for c in changed]
    listing = Listing("code", CODE_COLUMNS, codes)
    if fmt != "table":
        document = {
            "draft": created.ref,
            "rows": len(created.rows),
            "flagged": conversion.flagged,
            "codes": codes,
        }
        emit(fmt, document, listing)
        return
    click.echo(
        f"draft {created.ref} ({created.edition}) built from {created.based_on}: "
        f"{len(created.rows)} rows, {conversion.flagged} flagged for review"
    )
    for kind in ("unchanged", "renumbered", "split", "merged", "heading-changed"):
        click.echo(f"  {kind}: {conversion.count(kind)} code(s)")
    if codes:
        emit_table(listing)
    if conversion.flagged:
        click.echo(f"Review the flagged rows (hs show {created.ref}) before proposing the draft.")
