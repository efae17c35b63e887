"""``cites-connector suspensions list|add|remove|import``: trade suspensions (contract 5.1, 7).

The actor is the OS account running the command (contract 7, v2: cli/actor.py); changing
needs the editor role of setting ``hs_roles``; every change is in the administration audit
chain with its ``--reason``. ``import`` reads a Species+ ``cites_legislation`` response
(mappings/speciesplus_trade.py) and refuses the whole file when any entry is malformed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cites_connector.cli.actor import acting, refuses_user
from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, emit_table, format_option
from cites_connector.domain.trade_controls import Suspension, TradeFlow

if TYPE_CHECKING:
    from cites_connector.services.trade_imports import TradeImports
    from cites_connector.services.trade_ports import Proposal

DATE = click.DateTime(formats=["%Y-%m-%d"])
JSON_IN = click.Path(path_type=Path, dir_okay=False, exists=True)


def admin(obj: Context) -> TradeImports:
    """The administration of both tables on the application's ledger, taxonomy and clock."""
    from cites_connector.services.trade_imports import TradeImports

    app = obj.app
    return TradeImports(
        app.ledger,
        roles=dict(app.settings.hs_roles),
        taxonomy=app.rulebook.taxonomy,
        home_country=app.rulebook.policy.home_country,
        clock=app.clock,
    )


def read_file(path: Path) -> tuple[bytes, str]:
    """The file's bytes, and how the audit names it (name and SHA-256)."""
    raw = path.read_bytes()
    return raw, f"{path.name} sha256:{hashlib.sha256(raw).hexdigest()}"


def report_proposal(kind: str, proposal: Proposal) -> None:
    click.echo(
        f"import {proposal.number} of {kind} proposed: {len(proposal.entries)} entries from "
        f"{proposal.source}; another approver applies it with "
        f"`cites-connector {kind} approve {proposal.number} --reason ...`"
    )
    for skipped in proposal.skipped:
        click.echo(f"  skipped: {skipped}")


PROPOSAL_COLUMNS = (
    Column("import", "Import"),
    Column("status", "Status", table=False),
    Column("entries", "Entries"),
    Column("proposed_by", "Proposed by"),
    Column("proposed_at", "At"),
    Column("decided_by", "Decided by", table=False),
    Column("source", "Source"),
)


def proposals_listing(kind: str, proposals: list[Proposal]) -> Listing:
    """Every import of the table in JSON and CSV; a table shows those still waiting."""
    return Listing("proposed_import", PROPOSAL_COLUMNS, [proposal_row(p) for p in proposals])


def pending(kind: str, proposals: list[Proposal]) -> None:
    waiting = [p for p in proposals if p.status.value == "PROPOSED"]
    if waiting:
        click.echo()
        listing = proposals_listing(kind, waiting)
        listing.title = f"Proposed imports of {kind}, waiting for approval:"
        emit_table(listing)


def _row(s: Suspension) -> dict[str, object]:
    return {
        "number": s.id,
        "country": s.country,
        "flow": s.flow.value,
        "taxon": s.taxon,
        "sources": sorted(s.sources),
        "purposes": sorted(s.purposes),
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat() if s.ends_on else None,
        "notification": s.reference,
        "origin": s.origin,
        "notes": s.notes,
    }


@cli.group()
def suspensions() -> None:
    """Trade suspensions: CITES recommendations to suspend trade with a Party."""


SUSPENSION_COLUMNS = (
    Column("number", "No"),
    Column("country", "Country"),
    Column("flow", "Flow"),
    Column("taxon", "Taxon"),
    Column("sources", "Sources"),
    Column("purposes", "Purposes"),
    Column("starts_on", "From"),
    Column("ends_on", "To"),
    Column("notification", "Notification"),
    Column("origin", "Origin", table=False),
    Column("notes", "Notes", table=False),
)


@suspensions.command("list")
@refuses_user
@click.option("--all", "removed", is_flag=True, help="Also the suspensions removed.")
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, removed: bool, fmt: str) -> None:
    """The suspensions in the table (in force or not, by their dates)."""
    service = admin(obj)
    found = [_row(s) for s in service.suspensions(removed=removed)]
    proposals = service.proposals("suspensions")
    document = {"suspensions": found, "proposed_imports": [proposal_row(p) for p in proposals]}
    if fmt != "table":
        emit(
            fmt,
            document,
            Listing("suspension", SUSPENSION_COLUMNS, found),
            proposals_listing("suspensions", proposals),
        )
        return
    shown = [
        r
        | {
            "taxon": r["taxon"] or "all CITES taxa",
            "sources": r["sources"] or "any",
            "purposes": r["purposes"] or "any",
            "ends_on": r["ends_on"] or "open",
        }
        for r in found
    ]
    emit_table(Listing("suspension", SUSPENSION_COLUMNS, shown, empty="no suspensions"))
    pending("suspensions", proposals)


def proposal_row(p: Proposal) -> dict[str, object]:
    return {
        "import": p.number,
        "status": p.status.value,
        "entries": len(p.entries),
        "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at.isoformat(),
        "decided_by": p.decided_by,
        "source": p.source,
    }


@suspensions.command()
@acting
@click.option("--country", required=True, help="The Party whose trade is suspended (ISO code).")
@click.option(
    "--flow",
    type=click.Choice([f.value for f in TradeFlow], case_sensitive=False),
    required=True,
    help="EXPORT: exports from the country; IMPORT: imports into it; RE_EXPORT; ALL.",
)
@click.option("--taxon", default=None, help="Scientific name at any rank (default: all taxa).")
@click.option("--source", "sources", multiple=True, help="A source code it covers (default: any).")
@click.option("--purpose", "purposes", multiple=True, help="A purpose code (default: any).")
@click.option("--starts-on", type=DATE, required=True, help="First day in force.")
@click.option("--ends-on", type=DATE, default=None, help="Last day in force (default: open).")
@click.option("--notification", required=True, help="The CITES notification, e.g. 2023/037.")
@click.option("--notes", default=None, help="What the notification says, for officers.")
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.pass_obj
@handle_errors
def add(
    obj: Context,
    country: str,
    flow: str,
    taxon: str | None,
    sources: tuple[str, ...],
    purposes: tuple[str, ...],
    starts_on: datetime,
    ends_on: datetime | None,
    notification: str,
    notes: str | None,
    reason: str,
    actor: str,
) -> None:
    """Add a suspension."""
    suspension = Suspension(
        country=country,
        taxon=taxon,
        flow=TradeFlow(flow.upper()),
        starts_on=starts_on.date(),
        ends_on=ends_on.date() if ends_on else None,
        reference=notification,
        sources=frozenset(sources),
        purposes=frozenset(purposes),
        notes=notes,
    )
    added = admin(obj).add_suspension(actor, suspension, reason)
    click.echo(f"suspension {added.id} added: {added.describe()}")


@suspensions.command()
@acting
@click.argument("number", type=int)
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.pass_obj
@handle_errors
def remove(obj: Context, number: int, reason: str, actor: str) -> None:
    """Take suspension NUMBER out of force (it stays listed with --all)."""
    removed = admin(obj).remove_suspension(actor, number, reason)
    click.echo(f"suspension {number} removed: {removed.describe()}")


@suspensions.command("import")
@acting
@click.argument("file", type=JSON_IN)
@click.option(
    "--taxon",
    default=None,
    help="The taxon the Species+ response was requested for (it names only concept ids).",
)
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.pass_obj
@handle_errors
def import_(obj: Context, file: Path, taxon: str | None, reason: str, actor: str) -> None:
    """Propose the cites_suspensions of a Species+ cites_legislation response (JSON) for
    import; another approver applies them (suspensions approve)."""
    from cites_connector.mappings.speciesplus_trade import read_suspensions

    raw, source = read_file(file)
    found = read_suspensions(raw, taxon=taxon)
    service = admin(obj)
    proposal = service.propose_suspensions(actor, found.suspensions, source, reason, found.skipped)
    report_proposal("suspensions", proposal)
