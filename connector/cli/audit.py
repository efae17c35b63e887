"""``cites-connector audit verify|show``: the hash-chained log of administrative actions."""

from __future__ import annotations

import json
import sys

import click

from connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from connector.cli.output import emit_json, table


@cli.group()
def audit() -> None:
    """The administration audit log (HS tables): append-only, hash-chained."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def verify(obj: Context, as_json: bool) -> None:
    """Walk the hash chain; exit 1 and name the first broken row if it was tampered with.

    Also recomputes the digest of every published HS table version's rows.
    """
    from adapters.sql import audit_chain

    with obj.app.engine.connect() as connection:
        result = audit_chain.verify(connection)
    if as_json:
        emit_json({"ok": result.ok, "rows": result.rows, "head": result.head,
                   "broken_at": result.broken_at, "problem": result.problem,
                   "tampered_versions": list(result.tampered_versions)})
    elif result.ok:
        click.echo(f"audit chain intact: {result.rows} row(s); head hash {result.head}")
        click.echo("(record the head hash elsewhere: the chain alone cannot show that the "
                   "newest rows were cut off)")
    else:
        if result.broken_at is not None:
            click.echo(f"audit chain BROKEN at row {result.broken_at}: {result.problem}")
        for label in result.tampered_versions:
            click.echo(f"HS table version {label}: its rows no longer match the digest "
                       f"recorded when it was published")
    if not result.ok:
        sys.exit(EXIT_REFUSED)


@audit.command()
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def show(obj: Context, last: int, as_json: bool) -> None:
    """The newest records: who, when, what, why."""
    from sqlalchemy import select

    from adapters.sql.hs_schema import admin_audit

    with obj.app.engine.connect() as connection:
        rows = list(connection.execute(select(admin_audit).order_by(admin_audit.c.seq.desc())
                                       .limit(last)).mappings())[::-1]
    if as_json:
        emit_json([dict(r) | {"details": json.loads(r["details"])} for r in rows])
        return
    click.echo(table(["#", "When (UTC)", "Who", "Action", "Subject", "Why"],
                     [[r["seq"], r["at"][:19], r["actor"], r["action"], r["subject"],
                       r["reason"]] for r in rows]))
