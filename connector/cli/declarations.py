"""``cites-connector declarations check|clear|show|cancel``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.main import EXIT_OK, EXIT_REFUSED, Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, Qty, emit, format_option
from cites_connector.cli.reports import show_decision
from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.decisions import Decision, DeclarationDecision
from cites_connector.domain.errors import UnknownPermit
from cites_connector.domain.units import format_decimal

if TYPE_CHECKING:
    from cites_connector.app.application import Application

SAD_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


def _exit_for(decision: Decision) -> int:
    """A held declaration is a business refusal (exit 1); cleared or not concerned is 0."""
    return EXIT_REFUSED if decision.decision is DeclarationDecision.HELD else EXIT_OK


def _show(
    app: Application, decision: Decision, fmt: str, note: str | None = None, **extra: object
) -> None:
    """The decision with, per item, who signed the permit it was matched to (issue 13: the
    decision says so; the SOAP answer keeps the contract's elements and carries the
    ``PERMIT_UNSIGNED`` flag)."""
    signatures = _signatures(app, decision)
    document = decision_to_dict(decision) | extra
    for item in document.get("items", []):
        key = (item.get("permit_number") or "", item.get("issuing_country") or "")
        item["permit_signature"] = signatures.get(key)
    show_decision(fmt, decision, document, note, signatures)


def _signatures(app: Application, decision: Decision) -> dict[tuple[str, str], str]:
    cited = {
        (i.permit_number, i.issuing_country)
        for i in decision.items
        if i.permit_number and i.issuing_country
    }
    found: dict[tuple[str, str], str] = {}
    for number, country in sorted(cited):
        try:
            permit = app.permits.balance(number, country).permit
        except UnknownPermit:
            continue
        found[(number, country)] = permit.signature
    return found


RESTORED_COLUMNS = (
    Column("permit_number", "Permit"),
    Column("issuing_country", "Country"),
    Column("permit_line", "Line"),
    Column("quantity", "Quantity"),
    Column("unit", "Unit", table=False),
    Column("remaining_after", "Remaining after"),
)


@cli.group()
def declarations() -> None:
    """Decide declarations and manage their write-offs."""


@declarations.command()
@click.argument("file", type=SAD_FILE)
@click.option(
    "--id",
    "declaration_id",
    default=None,
    help="Declaration id (default: the file name without extension).",
)
@click.option("--version", default=1, show_default=True, type=click.IntRange(min=1))
@format_option
@click.pass_obj
@handle_errors
def check(obj: Context, file: Path, declaration_id: str | None, version: int, fmt: str) -> None:
    """Decide an ASYCUDA SAD XML file against the ledger without writing anything."""
    app = obj.app
    declaration = app.map_sad(file.read_bytes())
    decision = app.clearance.check(declaration_id or file.stem, version, declaration)
    _show(app, decision, fmt, "(check only: nothing was written off)", written=False)
    sys.exit(_exit_for(decision))


@declarations.command()
@click.argument("file", type=SAD_FILE)
@click.option("--id", "declaration_id", required=True, help="Declaration id given by customs.")
@click.option("--version", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@format_option
@click.pass_obj
@handle_errors
def clear(obj: Context, file: Path, declaration_id: str, version: int, user: str, fmt: str) -> None:
    """Decide a declaration and write its permits off (what CheckDeclaration does)."""
    app = obj.app
    declaration = app.map_sad(file.read_bytes())
    outcome = app.clearance.clear(declaration_id, version, declaration, actor=user)
    note = "(repeated: the stored decision, nothing written again)" if outcome.repeated else None
    _show(app, outcome.decision, fmt, note, repeated=outcome.repeated)
    sys.exit(_exit_for(outcome.decision))


@declarations.command("show")
@click.argument("declaration_id")
@format_option
@click.pass_obj
@handle_errors
def show(obj: Context, declaration_id: str, fmt: str) -> None:
    """The latest decision of a declaration and its state."""
    stored = obj.app.clearance.stored(declaration_id)
    _show(
        obj.app,
        stored.decision,
        fmt,
        f"state {stored.state.value}, decided {stored.decided_at.isoformat(timespec='seconds')}",
        state=stored.state.value,
        decided_at=stored.decided_at.isoformat(),
    )


@declarations.command()
@acting
@click.argument("declaration_id")
@click.option("--reason", default=None, help="Why the declaration is cancelled (audited).")
@format_option
@click.pass_obj
@handle_errors
def cancel(obj: Context, declaration_id: str, reason: str | None, actor: str, fmt: str) -> None:
    """Give back every quantity written off for a declaration. Recorded in the audit log
    under the operating-system account running the command (contract 7, v2)."""
    restored = obj.app.clearance.cancel(declaration_id, reason, actor=actor)
    rows = [
        {
            "permit_number": r.usage.permit_number,
            "issuing_country": r.usage.issuing_country,
            "permit_line": r.usage.line,
            "quantity": format_decimal(r.usage.quantity),
            "unit": r.usage.unit,
            "remaining_after": format_decimal(r.remaining_after),
        }
        for r in restored
    ]
    listing = Listing(
        "restored",
        RESTORED_COLUMNS,
        [
            r
            | {
                "quantity": Qty(u.usage.quantity, u.usage.unit),
                "remaining_after": Qty(u.remaining_after, u.usage.unit),
            }
            for r, u in zip(rows, restored, strict=True)
        ],
    )
    if fmt == "table":
        click.echo(f"Declaration {declaration_id} cancelled; {len(rows)} write-off(s) given back.")
        if not rows:
            return
    emit(fmt, {"declaration_id": declaration_id, "restored": rows}, listing)
