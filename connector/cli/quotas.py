"""``cites-connector quotas list|set|import``: the home country's export quotas (contract 5.1, 7).

As for suspensions (cli/suspensions.py): the OS account is the actor, the editor role of
``hs_roles`` may change, every change is audited with its ``--reason``, a malformed Species+
file changes nothing. Setting a quota again replaces its quantity and keeps what the year used.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import (
    Column,
    Listing,
    Qty,
    emit,
    emit_table,
    format_option,
    quantity_text,
)
from cites_connector.cli.suspensions import (
    JSON_IN,
    admin,
    pending,
    proposal_row,
    proposals_listing,
    read_file,
    report_proposal,
)
from cites_connector.domain.errors import InvalidInput
from cites_connector.domain.trade_controls import ExportQuota
from cites_connector.domain.units import format_decimal


@cli.group()
def quotas() -> None:
    """National export quotas: what the home country may export of a taxon in a year."""


QUOTA_COLUMNS = (
    Column("country", "Country", table=False),
    Column("year", "Year"),
    Column("taxon", "Taxon"),
    Column("term", "Term"),
    Column("quantity", "Quota"),
    Column("used", "Used"),
    Column("left", "Left"),
    Column("unit", "Unit", table=False),
    Column("origin", "Origin"),
    Column("notes", "Notes", table=False),
)


@quotas.command("list")
@refuses_user
@click.option("--year", type=int, default=None, help="Only this year's quotas.")
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, year: int | None, fmt: str) -> None:
    """The quotas, with what each year's clearances have used."""
    service = admin(obj)
    found = service.quotas(year)
    rows: list[dict[str, object]] = [
        {
            "country": q.country,
            "year": q.year,
            "taxon": q.taxon,
            "term": q.term,
            "quantity": format_decimal(q.quantity),
            "used": format_decimal(q.used),
            "left": format_decimal(q.left),
            "unit": q.unit,
            "origin": q.origin,
            "notes": q.notes,
        }
        for q in found
    ]
    proposals = service.proposals("quotas")
    document = {"quotas": rows, "proposed_imports": [proposal_row(p) for p in proposals]}
    if fmt != "table":
        emit(
            fmt,
            document,
            Listing("quota", QUOTA_COLUMNS, rows),
            proposals_listing("quotas", proposals),
        )
        return
    shown = [
        r
        | {
            "term": r["term"] or "any",
            "quantity": Qty(q.quantity, q.unit),
            "used": Qty(q.used, q.unit),
            "left": Qty(q.left, q.unit),
        }
        for r, q in zip(rows, found, strict=True)
    ]
    emit_table(Listing("quota", QUOTA_COLUMNS, shown, empty="no quotas"))
    pending("quotas", proposals)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(f"quantity {text!r} is not a number") from exc
    return value


@quotas.command("set")
@acting
@click.option("--taxon", required=True, help="Scientific name at any rank.")
@click.option("--year", type=int, required=True, help="The calendar year of the quota.")
@click.option("--quantity", required=True, help="The quota, e.g. 180 or 12.5.")
@click.option("--unit", default=None, help="CITES unit (KIL, CUM...); default: specimens.")
@click.option("--term", default=None, help="A CITES term (TUS...); default: any term.")
@click.option("--notes", default=None, help="What the quota covers, for officers.")
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.pass_obj
@handle_errors
def set_(
    obj: Context,
    taxon: str,
    year: int,
    quantity: str,
    unit: str | None,
    term: str | None,
    notes: str | None,
    reason: str,
    actor: str,
) -> None:
    """Set the home country's export quota for a taxon, year (and term)."""
    service = admin(obj)
    quota = ExportQuota(
        country=service.home,
        taxon=taxon,
        year=year,
        quantity=_decimal(quantity),
        unit=unit,
        term=term,
        notes=notes,
    )
    stored = service.set_quota(actor, quota, reason)
    click.echo(f"{stored.describe()} set; {quantity_text(stored.used, stored.unit)} used so far")


@quotas.command("import")
@acting
@click.argument("file", type=JSON_IN)
@click.option("--taxon", default=None, help="The taxon the Species+ response was requested for.")
@click.option("--year", type=int, default=None, help="The year, when entries carry none.")
@click.option("--term", default=None, help="The term the quotas count, when entries carry none.")
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.pass_obj
@handle_errors
def import_(
    obj: Context,
    file: Path,
    taxon: str | None,
    year: int | None,
    term: str | None,
    reason: str,
    actor: str,
) -> None:
    """Propose the home country's cites_quotas of a Species+ cites_legislation response for
    import; another approver applies them (quotas approve)."""
    from cites_connector.mappings.speciesplus_trade import read_quotas

    service = admin(obj)
    raw, source = read_file(file)
    found = read_quotas(raw, home=service.home, taxon=taxon, year=year, term=term)
    proposal = service.propose_quotas(actor, found.quotas, source, reason, found.other_countries)
    report_proposal("quotas", proposal)


# approve and reject register themselves on both groups (suspensions and quotas)
from cites_connector.cli import trade_review as _review  # noqa: E402,F401
