"""``cites-connector dlq list|replay``: the permit messages the connector could not use.

``cites-connector.dead-letters`` holds what the consumer refused (with ``x-rejection-reason``)
and what RabbitMQ dead-lettered over the delivery limit (with ``x-death``). Listing reads them
without removing them; replay sends them back to their original exchange once the cause is
fixed (a unit added, the permit system corrected) and removes each only after the broker
confirmed the copy. Replayed messages keep their message id: one applied meanwhile is not
applied twice. Replay publishes as the permit publisher who first sent each message
(``CONNECTOR_DLQ_REPLAY_URL``): a message someone else published stays a dead letter.
"""

from __future__ import annotations

import sys

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.main import EXIT_REFUSED, EXIT_USAGE, Context, cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option


@cli.group()
def dlq() -> None:
    """Dead-lettered permit messages: list them, replay them."""


DEAD_LETTER_COLUMNS = (
    Column("message_id", "Message id"),
    Column("routing_key", "Routing key"),
    Column("publisher", "Published by"),
    Column("rejected_at", "Rejected at"),
    Column("size", "Bytes"),
    Column("reason", "Reason"),
)


@dlq.command("list")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Show at most this many, oldest first.",
)
@format_option
@click.pass_obj
@handle_errors
def list_(obj: Context, limit: int, fmt: str) -> None:
    """Dead letters with their rejection reason; they stay in the queue."""
    from cites_connector.adapters.amqp.dead_letters import list_dead_letters

    letters, total = list_dead_letters(obj.settings.amqp_url, limit)
    rows = [
        {
            "message_id": d.message_id if d.id_given else f"{d.message_id} (no id)",
            "routing_key": d.routing_key,
            "publisher": d.publisher or "?",
            "rejected_at": d.rejected_at,
            "size": d.size,
            "reason": d.explained,
        }
        for d in letters
    ]
    listing = Listing("dead_letter", DEAD_LETTER_COLUMNS, rows, empty="No dead letters.")
    if total > len(letters):
        listing.notes.append(f"\n{len(letters)} of {total} shown (--limit).")
    emit(fmt, {"total": total, "dead_letters": [d.as_dict() for d in letters]}, listing)


@dlq.command()
@acting
@click.option("--id", "message_id", help="Replay the dead letters with this message id.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.pass_obj
@handle_errors
def replay(obj: Context, message_id: str | None, replay_all: bool, actor: str) -> None:
    """Publish dead letters again to the exchange they were first sent to, as the permit
    publisher who sent them (CONNECTOR_DLQ_REPLAY_URL). Recorded in the audit log under the
    operating-system account running the command (contract 7, v2)."""
    from cites_connector.adapters.amqp.dlq_replay import replay_dead_letters
    from cites_connector.adapters.sql.admin_actions import record_admin_action

    if bool(message_id) == replay_all:
        raise click.UsageError("give --id MESSAGE_ID or --all")
    if obj.settings.dlq_replay_url is None:
        click.echo(
            "error: set CONNECTOR_DLQ_REPLAY_URL to the permit publisher's connection "
            "(amqp://permit-system:PASSWORD@host/vhost): permit events are trusted only "
            "from a permit publisher's user_id",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    # recorded first: a replay that fails half-way must still say who started it
    record_admin_action(
        obj.app.engine,
        actor,
        "dlq.replay",
        message_id or "all",
        {"message_id": message_id, "all": replay_all},
        obj.app.clock(),
    )
    result = replay_dead_letters(
        obj.settings.amqp_url, obj.settings.dlq_replay_url.get_secret_value(), message_id
    )
    for letter in result.replayed:
        click.echo(
            f"replayed {letter.message_id} to {letter.original_exchange} {letter.routing_key}"
        )
    for letter, problem in result.failed:
        click.echo(f"error: {letter.message_id} not replayed: {problem}", err=True)
    click.echo(f"{len(result.replayed)} replayed, {len(result.failed)} not replayed")
    if result.failed or (message_id and not result.replayed):
        if message_id and not result.replayed and not result.failed:
            click.echo(f"error: no dead letter with message id {message_id}", err=True)
        sys.exit(EXIT_REFUSED)
