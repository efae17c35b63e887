"""``cites-connector hs draft new|add|remove|import|export``: editing drafts (docs/hs-tables.md).

Only a draft in status DRAFT can be edited; every edit records its OS account as an editor of
the draft, who may then not approve it (four eyes).
"""

from __future__ import annotations

from pathlib import Path

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.hs import CSV_IN, CSV_OUT, hs, reason_option, service, write_text
from cites_connector.cli.main import Context, handle_errors


@hs.group()
def draft() -> None:
    """Create and edit drafts (only a draft in status DRAFT can be edited)."""


@draft.command("new")
@acting
@click.option("--edition", required=True, help="HS edition of the draft, e.g. HS2022, HS2027.")
@click.option(
    "--from",
    "based_on",
    default=None,
    help="Start from this version or draft (default: the edition's latest version).",
)
@click.option("--empty", is_flag=True, help="Start with no rows.")
@reason_option
@click.pass_obj
@handle_errors
def draft_new(
    obj: Context, edition: str, based_on: str | None, empty: bool, actor: str, reason: str
) -> None:
    """Start a draft."""
    created = service(obj).new_draft(actor, edition, based_on=based_on, empty=empty, reason=reason)
    click.echo(
        f"draft {created.ref} ({created.edition}) created with {len(created.rows)} rows"
        + (f" from {created.based_on}" if created.based_on else "")
    )


@draft.command("add")
@acting
@click.argument("ref")
@click.argument("hs_prefix")
@click.argument("taxon")
@click.option("--terms", default="", help="CITES term codes, space-separated (none: any term).")
@click.option("--note", default=None)
@reason_option
@click.pass_obj
@handle_errors
def draft_add(
    obj: Context,
    ref: str,
    hs_prefix: str,
    taxon: str,
    terms: str,
    note: str | None,
    actor: str,
    reason: str,
) -> None:
    """Add a row (taxon '-' excludes the prefix); re-adding a row replaces it and clears a
    conversion's review flag."""
    from cites_connector.domain.hs_tables import HsRow

    row = HsRow(
        hs_prefix.replace(".", "").strip(),
        taxon.strip(),
        frozenset(terms.replace(",", " ").split()),
        note,
    )
    edited = service(obj).add_row(actor, ref, row, reason)
    click.echo(f"draft {edited.ref}: row {row.describe()} added ({len(edited.rows)} rows)")


@draft.command("remove")
@acting
@click.argument("ref")
@click.argument("hs_prefix")
@click.option("--taxon", default=None, help="Only this taxon's row (default: every row).")
@reason_option
@click.pass_obj
@handle_errors
def draft_remove(
    obj: Context, ref: str, hs_prefix: str, taxon: str | None, actor: str, reason: str
) -> None:
    """Remove the rows of a prefix (or one row with --taxon)."""
    edited = service(obj).remove_rows(actor, ref, hs_prefix.replace(".", ""), taxon, reason)
    click.echo(f"draft {edited.ref}: {len(edited.rows)} rows left")


@draft.command("import")
@acting
@click.argument("ref")
@click.argument("file", type=CSV_IN)
@reason_option
@click.pass_obj
@handle_errors
def draft_import(obj: Context, ref: str, file: Path, actor: str, reason: str) -> None:
    """Replace a draft's rows with a CSV (hs_prefix,taxon,terms,note); all or nothing."""
    from cites_connector.domain.hs_admin_csv import parse_rows

    parsed = parse_rows(file.read_text(encoding="utf-8-sig"), file.name)
    edited = service(obj).import_rows(actor, ref, parsed.rows, parsed.lines, file.name, reason)
    click.echo(f"draft {edited.ref}: {len(edited.rows)} rows imported from {file.name}")


@draft.command("export")
@refuses_user
@click.argument("ref")
@click.argument("file", type=CSV_OUT)
@click.pass_obj
@handle_errors
def draft_export(obj: Context, ref: str, file: Path) -> None:
    """Write the rows of a draft or version as CSV ('-' for standard output)."""
    from cites_connector.domain.hs_admin_csv import format_rows

    _, rows, _ = service(obj).rows(ref)
    write_text(file, format_rows(rows))
    if str(file) != "-":
        click.echo(f"{len(rows)} rows of {ref} written to {file}")
