"""``cites-connector audit verify|seal|show``: the keyed audit chains (contract 7 and 9, v2).

``verify`` checks the administration chain and the ledger chain with the audit key, and the
published HS tables against their digests; it prints each chain's head for the
administrator to record outside the connector, and exits 1 naming the first bad row.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from cites_connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option

if TYPE_CHECKING:
    from cites_connector.adapters.sql.audit_report import ChainReport


@cli.group()
def audit() -> None:
    """The audit chains: administration acts and ledger events, keyed with HMAC-SHA-256."""


def _state(chain: ChainReport) -> str:
    if chain.ok:
        return "intact"
    where = f" at row {chain.broken_at}" if chain.broken_at is not None else ""
    return f"BROKEN{where}: {chain.problem}"


def _line(chain: ChainReport) -> str:
    if not chain.ok:
        return f"{chain.chain} chain: {_state(chain)}"
    if chain.chain == "ledger":
        return (
            f"ledger chain: intact, {chain.sealed} row(s) sealed, {chain.waiting} waiting, "
            f"head {chain.head} ({chain.head_at})"
        )
    return f"{chain.chain} chain: intact, {chain.rows} row(s), head {chain.head} ({chain.head_at})"


@audit.command()
@click.option(
    "--no-seal",
    is_flag=True,
    help="Only read: do not seal the ledger rows written since the last seal first.",
)
@format_option
@click.pass_obj
@handle_errors
def verify(obj: Context, no_seal: bool, fmt: str) -> None:
    """Check every audit chain with the audit key; exit 1 and name the first bad row.

    Also recomputes the digest of every published HS table version's rows."""
    from cites_connector.adapters.sql.audit_checks import verify_chains

    report = verify_chains(obj.app.engine, seal=not no_seal)
    chains = [vars(c) | {"ok": c.ok} for c in report.chains]
    document = {
        "ok": report.ok,
        "key_id": report.key_id,
        "notes": list(report.notes),
        "chains": chains,
        "tampered_versions": list(report.tampered_versions),
    }
    if fmt != "table":
        keys = list(chains[0]) if chains else ["chain", "ok"]
        emit(fmt, document, Listing("chain", [Column(k, k) for k in keys], chains))
    else:
        for note in report.notes:
            click.echo(f"({note})")
        for chain in report.chains:
            click.echo(_line(chain))
        for label in report.tampered_versions:
            click.echo(
                f"HS table version {label}: its rows no longer match the digest "
                f"recorded when it was published"
            )
        click.echo(
            f"audit key id {report.key_id}. Record the heads outside the connector (a "
            f"ticket, an e-mail): no chain can show that its newest rows were cut off."
        )
    if not report.ok:
        first = next((c for c in report.chains if not c.ok), None)
        what = (
            f"the {first.chain} chain is {_state(first)}"
            if first is not None
            else "published HS table rows were changed"
        )
        click.echo(f"error: audit verification failed: {what}", err=True)
        sys.exit(EXIT_REFUSED)


@audit.command()
@click.option("--full", is_flag=True, help="Look at every row, not only the recent ones.")
@click.pass_obj
@handle_errors
def seal(obj: Context, full: bool) -> None:
    """Link the ledger audit rows written since the last seal into the chain (serve does it
    every audit_seal_seconds); exit 1 at a row that cannot be vouched for."""
    from cites_connector.adapters.sql.audit_checks import seal_ledger

    done = seal_ledger(obj.app.engine, full=full)
    click.echo(
        f"sealed {len(done.rows)} ledger audit row(s); head {done.head} (position {done.position})"
    )
    if done.problem is not None:
        click.echo(f"error: sealing stopped at row {done.stopped_at}: {done.problem}", err=True)
        sys.exit(EXIT_REFUSED)


LEDGER_COLUMNS = (
    Column("id", "#"),
    Column("at", "When (UTC)"),
    Column("actor", "Who"),
    Column("action", "Action"),
    Column("subject", "Subject"),
    Column("details", "Details", table=False),
)
ADMIN_COLUMNS = (
    Column("seq", "#"),
    Column("at", "When (UTC)"),
    Column("actor", "Who"),
    Column("action", "Action"),
    Column("subject", "Subject"),
    Column("reason", "Why"),
    Column("details", "Details", table=False),
)


@audit.command()
@click.option("--last", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--ledger", is_flag=True, help="The ledger's audit rows instead of the administration log."
)
@format_option
@click.pass_obj
@handle_errors
def show(obj: Context, last: int, ledger: bool, fmt: str) -> None:
    """The newest records: who, when, what, why."""
    from sqlalchemy import select

    from cites_connector.adapters.sql.hs_schema import admin_audit
    from cites_connector.adapters.sql.tables import audit_log

    source = audit_log if ledger else admin_audit
    order = source.c.id if ledger else source.c.seq
    with obj.app.engine.connect() as connection:
        rows = list(
            connection.execute(select(source).order_by(order.desc()).limit(last)).mappings()
        )[::-1]
    columns: tuple[Column, ...]
    if ledger:
        columns = LEDGER_COLUMNS
        document = [dict(r) for r in rows]
    else:
        columns = ADMIN_COLUMNS
        document = [dict(r) | {"details": json.loads(r["details"])} for r in rows]
    emit(fmt, document, Listing("record", columns, [dict(r) for r in rows]))
