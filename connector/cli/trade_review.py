"""``cites-connector suspensions|quotas approve|reject NUMBER``: the second pair of eyes on a
Species+ import (services/trade_imports.py). The approver is an OS account with the approver
role of ``hs_roles`` other than the one that proposed the import."""

from __future__ import annotations

import click

from cites_connector.cli.actor import acting
from cites_connector.cli.main import Context, handle_errors
from cites_connector.cli.quotas import quotas
from cites_connector.cli.suspensions import admin, suspensions


def _review(group: click.Group, kind: str) -> None:
    @group.command("approve")
    @acting
    @click.argument("number", type=int)
    @click.option("--reason", required=True, help="Why: recorded in the audit log.")
    @click.pass_obj
    @handle_errors
    def approve(obj: Context, number: int, reason: str, actor: str) -> None:
        """Apply a proposed import (not one you proposed: four eyes)."""
        done = admin(obj).approve(actor, kind, number, reason)
        click.echo(
            f"import {number} of {kind} applied: {done.added} added, {done.replaced} "
            f"replaced, {done.unchanged} unchanged"
        )

    @group.command("reject")
    @acting
    @click.argument("number", type=int)
    @click.option("--reason", required=True, help="Why: recorded in the audit log.")
    @click.pass_obj
    @handle_errors
    def reject(obj: Context, number: int, reason: str, actor: str) -> None:
        """Refuse a proposed import: nothing of it applies."""
        admin(obj).reject(actor, kind, number, reason)
        click.echo(f"import {number} of {kind} rejected")


_review(suspensions, "suspensions")
_review(quotas, "quotas")
