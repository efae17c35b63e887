"""``cites-connector hs propose|approve|reject|publish|rollback``: the four-eyes review.

The proposer and every editor of a draft are OS accounts (connector/cli/actor.py); approving
needs an approver who is neither, so one person cannot publish a table alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.hs import DATE, hs, reason_option, service
from cites_connector.cli.main import Context, handle_errors

if TYPE_CHECKING:
    from cites_connector.services.hs_admin import Published

_REVIEW_HELP = {
    "propose": "Propose a valid draft for review by another approver.",
    "approve": "Approve a proposed draft (not one you proposed or edited: four eyes).",
    "reject": "Send a proposed or approved draft back for editing, saying why.",
}


def _review(action: str) -> click.Command:
    @hs.command(action, help=_REVIEW_HELP[action])
    @acting
    @click.argument("ref")
    @reason_option
    @click.pass_obj
    @handle_errors
    def command(obj: Context, ref: str, actor: str, reason: str) -> None:
        done = getattr(service(obj), action)(actor, ref, reason)
        click.echo(
            f"draft {done.ref} is {done.status.value}"
            + (f" (rejected by {done.rejected_by}: {done.rejection})" if action == "reject" else "")
        )

    return command


propose = _review("propose")
approve = _review("approve")
reject = _review("reject")


def _published(result: Published) -> None:
    v = result.version
    click.echo(f"{v.label} published: {len(v.rows)} rows, in force from {v.effective_from}")
    for label, last in result.ended:
        click.echo(f"  {label} now ends on {last}")
    for label in result.withdrawn:
        click.echo(f"  {label} withdrawn: it never takes effect")


@hs.command()
@acting
@click.argument("ref")
@click.option("--effective", type=DATE, required=True, help="First day the version applies.")
@click.option(
    "--supersede",
    multiple=True,
    help="A scheduled version this one replaces before it takes effect.",
)
@reason_option
@click.pass_obj
@handle_errors
def publish(
    obj: Context,
    ref: str,
    effective: datetime,
    supersede: tuple[str, ...],
    actor: str,
    reason: str,
) -> None:
    """Publish an approved draft as the next version of its edition."""
    _published(service(obj).publish(actor, ref, effective.date(), reason, supersede))


@hs.command()
@acting
@click.argument("version")
@click.option("--effective", type=DATE, required=True, help="First day the copy applies.")
@click.option(
    "--supersede",
    multiple=True,
    help="A scheduled version this one replaces before it takes effect.",
)
@reason_option
@click.pass_obj
@handle_errors
def rollback(
    obj: Context,
    version: str,
    effective: datetime,
    supersede: tuple[str, ...],
    actor: str,
    reason: str,
) -> None:
    """Publish a copy of an older VERSION as a new version."""
    _published(service(obj).rollback(actor, version, effective.date(), reason, supersede))
