"""``cites-connector hs ...``: administering the HS-to-taxon tables (contract 6, issue 5).

The acting user is the operating-system account running the command (contract 7, v2:
connector/cli/actor.py): the roles of setting ``hs_roles`` name OS accounts, and four eyes
means two accounts. ``--user`` is refused. Writing commands take ``--reason``, recorded with
the change in the keyed audit chain. The reading commands are here; drafts, review and
publication, impact and conversion have modules of their own (hs_drafts, hs_review,
hs_impact), registered on the ``hs`` group at the end of this one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from cites_connector.cli.actor import refuses_user
from cites_connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option

if TYPE_CHECKING:
    from cites_connector.services.hs_admin import HsAdminService

DATE = click.DateTime(formats=["%Y-%m-%d"])
CSV_OUT = click.Path(path_type=Path, dir_okay=False, allow_dash=True)
CSV_IN = click.Path(path_type=Path, dir_okay=False, exists=True)
R = TypeVar("R")


def reason_option(command: Callable[..., R]) -> Callable[..., R]:
    return click.option(
        "--reason", required=True, help="Why: recorded with the change in the audit log."
    )(command)


def service(obj: Context) -> HsAdminService:
    """The administration service on the application's database, taxonomy and clock."""
    from cites_connector.app.application import build_hs_admin

    return build_hs_admin(obj.app)


def write_text(path: Path, text: str) -> None:
    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")


def day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


VERSION_COLUMNS = (
    Column("version", "Version"),
    Column("state", "State"),
    Column("effective_from", "From"),
    Column("effective_to", "To"),
    Column("rows", "Rows"),
    Column("published_by", "Published by"),
    Column("approved_by", "Approved by"),
    Column("source", "Source"),
)
DRAFT_COLUMNS = (
    Column("draft", "Draft"),
    Column("edition", "Edition"),
    Column("status", "Status"),
    Column("based_on", "Based on"),
    Column("rows", "Rows"),
    Column("flagged", "To review"),
    Column("created_by", "Created by"),
    Column("proposed_by", "Proposed by"),
    Column("approved_by", "Approved by"),
    Column("rejected_by", "Rejected by", table=False),
    Column("rejection", "Rejection", table=False),
    Column("published_as", "Published as"),
)
ROW_COLUMNS = (
    Column("hs_prefix", "HS prefix"),
    Column("taxon", "Taxon"),
    Column("terms", "Terms"),
    Column("note", "Note"),
    Column("review", "Review"),
)


@cli.group()
def hs() -> None:
    """HS-to-taxon tables: versions, drafts, four-eyes review, publication, impact."""


# -- reading ----------------------------------------------------------------------------------


@hs.command("list")
@refuses_user
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, fmt: str) -> None:
    """Published versions (status, effective dates) and drafts (review status)."""
    view = service(obj).overview()
    versions = [
        {
            "version": v.label,
            "state": v.state_on(view.today),
            "effective_from": v.effective_from.isoformat(),
            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
            "rows": len(v.rows),
            "published_by": v.published_by,
            "approved_by": v.approved_by,
            "source": v.source,
        }
        for v in view.versions
    ]
    drafts = [
        {
            "draft": d.ref,
            "edition": d.edition,
            "status": d.status.value,
            "based_on": d.based_on,
            "rows": len(d.rows),
            "flagged": sum(1 for r in d.rows if r.review),
            "created_by": d.created_by,
            "proposed_by": d.proposed_by,
            "approved_by": d.approved_by,
            "rejected_by": d.rejected_by,
            "rejection": d.rejection,
            "published_as": d.published_as,
        }
        for d in view.drafts
    ]
    listings = [
        Listing("version", VERSION_COLUMNS, versions, title=f"Versions (today {view.today}):"),
        Listing("draft", DRAFT_COLUMNS, drafts, title="Drafts:", empty="  none"),
    ]
    if fmt == "table":
        listings[0].rows = [v | {"effective_to": v["effective_to"] or "open"} for v in versions]
    emit(fmt, {"today": view.today.isoformat(), "versions": versions, "drafts": drafts}, *listings)


@hs.command()
@refuses_user
@click.argument("ref")
@click.option("--prefix", default=None, help="Only rows whose HS prefix starts with this.")
@click.option("--taxon", default=None, help="Only rows of this taxon (case-insensitive).")
@format_option
@click.pass_obj
@handle_errors
def show(obj: Context, ref: str, prefix: str | None, taxon: str | None, fmt: str) -> None:
    """Rows of a version (HS2022/1) or a draft (D3)."""
    edition, rows, reviews = service(obj).rows(ref)
    picked = [
        (r, rv)
        for r, rv in zip(rows, reviews, strict=False)
        if (prefix is None or r.hs_prefix.startswith(prefix.replace(".", "")))
        and (taxon is None or r.taxon.casefold() == taxon.casefold())
    ]
    shown = [
        {"hs_prefix": r.hs_prefix, "taxon": r.taxon, "terms": sorted(r.terms), "note": r.note}
        | {"review": rv}
        for r, rv in picked
    ]
    if fmt == "table":
        click.echo(f"{ref} ({edition}): {len(picked)} of {len(rows)} rows")
    emit(fmt, {"ref": ref, "edition": edition, "rows": shown}, Listing("row", ROW_COLUMNS, shown))


@hs.command()
@refuses_user
@click.argument("hs_code")
@click.option("--date", "on", type=DATE, default=None, help="Declaration date (default: today).")
@format_option
@click.pass_obj
@handle_errors
def lookup(obj: Context, hs_code: str, on: datetime | None, fmt: str) -> None:
    """Which rows apply to HS_CODE on a date, and why (the version, the matched prefix)."""
    answer = service(obj).lookup(hs_code, day(on))
    rows = [
        {"hs_prefix": r.hs_prefix, "taxon": r.taxon, "terms": sorted(r.terms), "note": r.note}
        for r in answer.rows
    ]
    listing = Listing("row", ROW_COLUMNS[:4], rows)
    if fmt != "table":
        document = {
            "hs_code": answer.code,
            "date": answer.day.isoformat(),
            "table": answer.table,
            "prefix": answer.prefix,
            "excluded": answer.excluded,
            "cites_goods": bool(answer.rows) and not answer.excluded,
            "rows": rows,
        }
        emit(fmt, document, listing)
        return
    if answer.table is None:
        click.echo(f"no HS table is in force on {answer.day}: declarations are refused")
        sys.exit(EXIT_REFUSED)
    head = f"HS {answer.code} on {answer.day}: table {answer.table}"
    if answer.prefix is None:
        click.echo(f"{head}: no row matches: not CITES goods")
    elif answer.excluded:
        click.echo(f"{head}: prefix {answer.prefix} is excluded: not CITES goods")
    else:
        click.echo(f"{head}: longest matching prefix {answer.prefix}: may hold CITES specimens")
    if rows:
        listing.rows = [r | {"terms": r["terms"] or "any"} for r in rows]
        emit(fmt, None, listing)


@hs.command()
@refuses_user
@click.argument("ref")
@click.pass_obj
@handle_errors
def validate(obj: Context, ref: str) -> None:
    """Check every row of a draft or version; exit 1 when a row has a problem."""
    problems = service(obj).validate(ref)
    if not problems:
        click.echo(f"{ref}: every row is valid")
        return
    click.echo(f"{ref}: {len(problems)} problem(s)")
    for problem in problems:
        click.echo(f"  {problem}")
    sys.exit(EXIT_REFUSED)


@hs.command()
@refuses_user
@click.argument("a")
@click.argument("b")
@click.pass_obj
@handle_errors
def diff(obj: Context, a: str, b: str) -> None:
    """Rows added (+), removed (-) and changed (~) from A to B."""
    changes = service(obj).diff(a, b)
    click.echo(f"{a} -> {b}: {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change.describe()}")


# the sub-command modules register themselves on ``hs``
from cites_connector.cli import hs_drafts as _drafts  # noqa: E402,F401
from cites_connector.cli import hs_impact as _impact  # noqa: E402,F401
from cites_connector.cli import hs_review as _review  # noqa: E402,F401
