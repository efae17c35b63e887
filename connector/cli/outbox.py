"""``cites-connector outbox status|retry``: what waits to be delivered, and a nudge.

A permanently refused message (a ``Client.*`` fault, HTTP 4xx) waits a day and blocks later
messages of its declaration or permit; after fixing the cause (credentials, the customs
endpoint) an operator sends it again with ``outbox retry``.
"""

from __future__ import annotations

import sys

import click

from connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from connector.cli.output import emit_json, table


def _store(obj: Context):
    from adapters.outbox.store import SqlOutboxStore

    return SqlOutboxStore(obj.app.engine)


def _iso(at) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")


@cli.group()
def outbox() -> None:
    """Messages waiting in the outbox: usage reports, broker notifications, customs callbacks."""


@outbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--failures", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many of the latest failed messages to list.")
@click.pass_obj
@handle_errors
def status(obj: Context, as_json: bool, failures: int) -> None:
    """Counts per channel (pending, failed, sent), the oldest pending message, last errors."""
    from adapters.customs.callback_client import CHANNEL as CALLBACK

    state = _store(obj).status(failures)
    age = state.oldest_pending_age(obj.app.clock())
    waiting = not obj.settings.customs_url and any(
        c.channel == CALLBACK and c.pending + c.failed for c in state.channels)
    if as_json:
        emit_json({
            "channels": [vars(c) for c in state.channels],
            "oldest_pending_at": _iso(state.oldest_pending_at) or None,
            "oldest_pending_age_seconds": None if age is None else round(age, 1),
            "customs_url_configured": bool(obj.settings.customs_url),
            "failures": [vars(f) | {"permanent": f.permanent,
                                    "next_attempt_at": _iso(f.next_attempt_at) or None}
                         for f in state.failures],
        })
        return
    click.echo(table(["Channel", "Pending", "Failed", "Of which permanent", "Sent"],
                     [[c.channel, c.pending, c.failed, c.permanent, c.sent]
                      for c in state.channels]) if state.channels else "The outbox is empty.")
    if state.oldest_pending_at is not None:
        click.echo(f"\nOldest pending message: {_iso(state.oldest_pending_at)} "
                   f"({age:.0f} s ago)")
    if waiting:
        click.echo("\nCustoms callbacks wait: CONNECTOR_CUSTOMS_URL is not set.")
    if state.failures:
        click.echo("\nLatest failed messages (send again: cites-connector outbox retry --id N):")
        click.echo(table(["Id", "Message id", "Channel", "Attempts", "Next attempt", "Last error"],
                         [[f.id, f.message_id, f.channel, f.attempts,
                           "on retry" if f.permanent else _iso(f.next_attempt_at),
                           (f.last_error or "")[:120]] for f in state.failures]))


@outbox.command()
@click.option("--id", "ids", multiple=True, type=click.IntRange(min=1),
              help="Outbox id to send now (repeatable; `outbox status` lists them).")
@click.option("--all-failed", is_flag=True, help="Every message that failed at least once.")
@click.pass_obj
@handle_errors
def retry(obj: Context, ids: tuple[int, ...], all_failed: bool) -> None:
    """Make failed or waiting messages due now; the running relay sends them at its next poll."""
    if bool(ids) == all_failed:
        raise click.UsageError("give --id N (one or more) or --all-failed")
    due = _store(obj).retry(obj.app.clock(), None if all_failed else list(ids))
    click.echo(f"{len(due)} message(s) due now" + (f": {', '.join(map(str, due))}" if due else ""))
    missing = sorted(set(ids) - set(due))
    if missing:
        click.echo(f"error: no unsent outbox message with id {', '.join(map(str, missing))}",
                   err=True)
        sys.exit(EXIT_REFUSED)
