"""``cites-connector permits import|show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cites_connector.cli.main import Context, cli, handle_errors
from cites_connector.cli.output import format_option
from cites_connector.cli.reports import show_balance

if TYPE_CHECKING:
    from cites_connector.domain.permits import Permit
    from cites_connector.mappings.epermit_signature import SignatureRules


@cli.group()
def permits() -> None:
    """Permits held by the connector."""


@permits.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@click.option(
    "--permit-version",
    default="1",
    show_default=True,
    help="The version of an ePermit XML document (AMQP header permit-version); JSON bodies "
    "carry their own.",
)
@click.pass_obj
@handle_errors
def import_(obj: Context, file: Path, user: str, permit_version: str) -> None:
    """Import one permit or a JSON list of permits (contract 3.1 format), or one CITES ePermit
    XML document (Toolkit v1 or v2, bare or in an EPIX SOAP envelope), told apart by content.
    An ePermit's signature is checked as CONNECTOR_EPERMIT_SIGNATURES says."""
    from cites_connector.adapters.epermit_trust import signature_rules

    settings = obj.settings
    rules = signature_rules(settings.epermit_signatures, settings.effective_trust_dir)
    parsed = read_permit_file(file.read_bytes(), permit_version, rules)
    for permit in parsed:
        result = obj.app.permits.apply(permit, actor=user)
        state = "" if result.applied else "unchanged, "
        click.echo(f"{permit.permit_number} ({permit.issuing_country}): {state}{result.detail}")


def read_permit_file(
    data: bytes, permit_version: str, signatures: SignatureRules | None = None
) -> list[Permit]:
    """JSON or ePermit XML by the first character that is not a byte-order mark or space: the
    file's name says nothing reliable, and both go through the same validation (contract 3.1).
    """
    from cites_connector.mappings.epermit_xml import parse_epermit
    from cites_connector.mappings.permit_json import parse_permit_list

    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return [parse_epermit(data, version=permit_version, signatures=signatures)]
    return parse_permit_list(data)


@permits.command()
@click.argument("number")
@click.option("--country", help="Issuing country (ISO alpha-2) when several share the number.")
@format_option
@click.pass_obj
@handle_errors
def show(obj: Context, number: str, country: str | None, fmt: str) -> None:
    """Lines, remaining quantities, status and usages of a permit."""
    from cites_connector.domain.units import format_decimal
    from cites_connector.mappings.permit_json import permit_to_json

    app = obj.app
    balance = app.permits.balance(
        number, country.upper() if country else None, prefer_country=app.settings.home_country
    )
    status = balance.permit.balance_status(app.clock().date()).value
    data = permit_to_json(balance.permit) | {
        "balance_status": status,
        "used_by": balance.permit.used_by,
        "signer": balance.permit.signer,
        "unsigned": balance.permit.unsigned,
    }
    for line, json_line in zip(balance.permit.lines, data["lines"], strict=False):
        json_line["remaining"] = format_decimal(line.remaining)
    data["usages"] = [
        {
            "usage_id": u.usage_id,
            "declaration_id": u.declaration_id,
            "declaration_version": u.declaration_version,
            "item_number": u.item_number,
            "line": u.line,
            "quantity": format_decimal(u.quantity),
            "unit": u.unit,
            "recorded_at": u.recorded_at.isoformat(),
            "reversed_at": u.reversed_at.isoformat() if u.reversed_at else None,
        }
        for u in balance.usages
    ]
    show_balance(fmt, balance, status, data)
