"""``cites-connector declarations check|clear|show|cancel``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.main import EXIT_OK, EXIT_REFUSED, Context, cli, handle_errors
from cites_connector.cli.output import decision_text, emit_json, table
from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.decisions import Decision, DeclarationDecision
from cites_connector.domain.units import format_decimal, unit_label

SAD_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


def _exit_for(decision: Decision) -> int:
    """A held declaration is a business refusal (exit 1); cleared or not concerned is 0."""
    return EXIT_REFUSED if decision.decision is DeclarationDecision.HELD else EXIT_OK


def _show(decision: Decision, as_json: bool, note: str | None = None, **extra: object) -> None:
    if as_json:
        emit_json(decision_to_dict(decision) | extra)
    else:
        click.echo(decision_text(decision, note))


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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def check(
    obj: Context, file: Path, declaration_id: str | None, version: int, as_json: bool
) -> None:
    """Decide an ASYCUDA SAD XML file against the ledger without writing anything."""
    app = obj.app
    declaration = app.map_sad(file.read_bytes())
    decision = app.clearance.check(declaration_id or file.stem, version, declaration)
    _show(decision, as_json, "(check only: nothing was written off)", written=False)
    sys.exit(_exit_for(decision))


@declarations.command()
@click.argument("file", type=SAD_FILE)
@click.option("--id", "declaration_id", required=True, help="Declaration id given by customs.")
@click.option("--version", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def clear(
    obj: Context, file: Path, declaration_id: str, version: int, user: str, as_json: bool
) -> None:
    """Decide a declaration and write its permits off (what CheckDeclaration does)."""
    app = obj.app
    declaration = app.map_sad(file.read_bytes())
    outcome = app.clearance.clear(declaration_id, version, declaration, actor=user)
    note = "(repeated: the stored decision, nothing written again)" if outcome.repeated else None
    _show(outcome.decision, as_json, note, repeated=outcome.repeated)
    sys.exit(_exit_for(outcome.decision))


@declarations.command("show")
@click.argument("declaration_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def show(obj: Context, declaration_id: str, as_json: bool) -> None:
    """The latest decision of a declaration and its state."""
    stored = obj.app.clearance.stored(declaration_id)
    _show(
        stored.decision,
        as_json,
        f"state {stored.state.value}, decided {stored.decided_at.isoformat(timespec='seconds')}",
        state=stored.state.value,
        decided_at=stored.decided_at.isoformat(),
    )


@declarations.command()
@acting
@click.argument("declaration_id")
@click.option("--reason", default=None, help="Why the declaration is cancelled (audited).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def cancel(
    obj: Context, declaration_id: str, reason: str | None, actor: str, as_json: bool
) -> None:
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
    if as_json:
        emit_json({"declaration_id": declaration_id, "restored": rows})
        return
    click.echo(f"Declaration {declaration_id} cancelled; {len(rows)} write-off(s) given back.")
    if rows:
        click.echo(
            table(
                ["Permit", "Country", "Line", "Quantity", "Remaining after"],
                [
                    [
                        r["permit_number"],
                        r["issuing_country"],
                        r["permit_line"],
                        f"{r['quantity']} {unit_label(r['unit'])}",
                        f"{r['remaining_after']} {unit_label(r['unit'])}",
                    ]
                    for r in rows
                ],
            )
        )
