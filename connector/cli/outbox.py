"""``cites-connector outbox status|retry``: what waits to be delivered, and a nudge.

Unsent messages are pending, retrying or failed (adapters/outbox/status.py). A failed one
(refused for good, or out of attempts) blocks later messages of its declaration or permit
and is never sent again by itself; after fixing the cause (credentials, the customs
endpoint, a broker queue) an operator sends it again with ``outbox retry``, which is recorded
in the administration audit log under the operating-system account running it.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.main import EXIT_REFUSED, Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, emit_table, format_option

if TYPE_CHECKING:
    from cites_connector.adapters.outbox.store import SqlOutboxStore


def _store(obj: Context) -> SqlOutboxStore:
    from cites_connector.adapters.outbox.store import SqlOutboxStore

    return SqlOutboxStore(obj.app.engine)


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat(timespec="seconds")


CHANNEL_COLUMNS = (
    Column("channel", "Channel"),
    Column("pending", "Pending"),
    Column("retrying", "Retrying"),
    Column("failed", "Failed"),
    Column("sent", "Sent"),
)
#: per lane (one relay thread per destination: amqp, customs, epix) with its oldest waiting one
LANE_COLUMNS = (
    Column("lane", "Lane"),
    Column("channels", "Channels"),
    *CHANNEL_COLUMNS[1:],
    Column("oldest_waiting_at", "Oldest waiting"),
    Column("oldest_waiting_age_seconds", "Waiting (s)"),
)
KIND_COLUMNS = (Column("channel", "Channel"), Column("kind", "Kind"), *CHANNEL_COLUMNS[1:])
#: the last error whole: a table cell folds it on a terminal and never cuts it
FAILURE_COLUMNS = (
    Column("id", "Id"),
    Column("state", "State", table=False),
    Column("message_id", "Message id"),
    Column("channel", "Channel"),
    Column("destination", "Destination"),
    Column("routing_key", "Routing key"),
    Column("attempts", "Attempts"),
    Column("next_attempt_at", "Next attempt"),
    Column("failed_at", "Failed at"),
    Column("last_error", "Last error"),
)


@cli.group()
def outbox() -> None:
    """Messages waiting in the outbox: usage reports, broker notifications, customs callbacks."""


@outbox.command()
@format_option
@click.option(
    "--failures",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many of the latest failed or retrying messages to list.",
)
@click.pass_obj
@handle_errors
def status(obj: Context, fmt: str, failures: int) -> None:
    """Counts per channel, per lane (the relay thread of a destination: amqp, customs, epix,
    with its oldest waiting message) and per kind of message: pending (never tried), retrying
    (failed, tried again by the relay), failed (given up: sent again only by outbox retry) and
    sent; the oldest unsent message; the latest failed and retrying messages with their whole last
    error."""
    from cites_connector.adapters.customs.callback_client import CHANNEL as CALLBACK

    state = _store(obj).status(failures)
    age = state.oldest_pending_age(obj.app.clock())
    waiting = not obj.settings.customs_url and any(
        c.channel == CALLBACK and c.pending + c.retrying + c.failed for c in state.channels
    )
    now = obj.app.clock()
    lane_rows = [
        vars(lane)
        | {
            "oldest_waiting_at": _iso(lane.oldest_waiting_at) or None,
            "oldest_waiting_age_seconds": None
            if lane.oldest_waiting_at is None
            else round(max(0.0, (now - lane.oldest_waiting_at).total_seconds()), 1),
        }
        for lane in state.lanes
    ]
    channel_rows = [vars(c) for c in state.channels]
    kind_rows = [vars(k) for k in state.kinds]
    rows = [
        vars(f)
        | {
            "state": f.state,
            "next_attempt_at": _iso(f.next_attempt_at) or None,
            "failed_at": _iso(f.failed_at) or None,
        }
        for f in state.failures
    ]
    document = {
        "channels": channel_rows,
        "lanes": lane_rows,
        "kinds": kind_rows,
        "oldest_pending_at": _iso(state.oldest_pending_at) or None,
        "oldest_pending_age_seconds": None if age is None else round(age, 1),
        "customs_url_configured": bool(obj.settings.customs_url),
        "failures": rows,
    }
    channels = Listing("channel", CHANNEL_COLUMNS, channel_rows, empty="The outbox is empty.")
    kinds = Listing("kind", KIND_COLUMNS, kind_rows, title="Per kind of message:")
    lanes = Listing("lane", LANE_COLUMNS, lane_rows, title="Per lane (one relay thread each):")
    if fmt != "table":
        emit(fmt, document, channels, lanes, kinds, Listing("message", FAILURE_COLUMNS, rows))
        return
    emit(fmt, None, channels, *([lanes] if lane_rows else []), *([kinds] if kind_rows else []))
    if state.oldest_pending_at is not None:
        click.echo(f"\nOldest unsent message: {_iso(state.oldest_pending_at)} ({age:.0f} s ago)")
    if waiting:
        click.echo("\nCustoms callbacks wait: CONNECTOR_CUSTOMS_URL is not set.")
    unsent = sum(c.retrying + c.failed for c in state.channels)
    for state_name, title, hidden in (
        (
            "failed",
            "Failed: never sent again until cites-connector outbox retry --id N",
            "next_attempt_at",
        ),
        ("retrying", "Retrying: the relay tries again by itself", "failed_at"),
    ):
        listed = [r for r in rows if r["state"] == state_name]
        if listed:
            click.echo()
            columns = [c for c in FAILURE_COLUMNS if c.key != hidden]
            emit_table(Listing(state_name, columns, listed, title=title))
    if unsent > len(rows):
        click.echo(f"\nThe latest {len(rows)} of {unsent} failed or retrying shown (--failures).")


@outbox.command()
@acting
@click.option(
    "--id",
    "ids",
    multiple=True,
    type=click.IntRange(min=1),
    help="Outbox id to send now (repeatable; outbox status lists them).",
)
@click.option("--all-failed", is_flag=True, help="Every failed or retrying message.")
@click.pass_obj
@handle_errors
def retry(obj: Context, ids: tuple[int, ...], all_failed: bool, actor: str) -> None:
    """Make failed or waiting messages due now (their attempts start again); the running
    relay sends them at its next poll. Recorded in the audit log under your OS account."""
    if bool(ids) == all_failed:
        raise click.UsageError("give --id N (one or more) or --all-failed")
    due = _store(obj).retry(obj.app.clock(), None if all_failed else list(ids), actor=actor)
    click.echo(f"{len(due)} message(s) due now" + (f": {', '.join(map(str, due))}" if due else ""))
    missing = sorted(set(ids) - set(due))
    if missing:
        click.echo(
            f"error: no unsent outbox message with id {', '.join(map(str, missing))}", err=True
        )
        sys.exit(EXIT_REFUSED)
