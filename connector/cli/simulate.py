"""``cites-connector simulate-customs serve|calls|send``: the customs system, for demos and tests.

``serve`` receives the connector's SubmitControlResult callbacks and records them; ``calls``
shows what was received; ``send`` plays customs the other way round, sending a SAD file to
the connector's CheckDeclaration. None of them needs the connector's settings or database.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from cites_connector.cli.main import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    cli,
    handle_errors,
)
from cites_connector.cli.output import Column, Listing, Qty, emit, format_option
from cites_connector.cli.reports import decision_listings, permit_ref

RECORD = click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("var/customs-simulator.sqlite"),
    show_default=True,
    envvar="CONNECTOR_SIMULATOR_RECORD",
    help="Where calls are recorded: a .json file, or SQLite for any other name.",
)


@cli.group("simulate-customs")
def simulate_customs() -> None:
    """Play the customs system: receive control results, send declarations."""


def _stop_on_sigterm() -> None:
    """waitress stops cleanly on KeyboardInterrupt; make SIGTERM one too."""

    def interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@simulate_customs.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8089, show_default=True, type=click.IntRange(0, 65535))
@RECORD
@click.option(
    "--fail-first",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Answer the first N calls with HTTP 500 (to watch the outbox retry).",
)
@click.option(
    "--user",
    envvar="CONNECTOR_CUSTOMS_USER",
    help="Require this WS-Security user (default: $CONNECTOR_CUSTOMS_USER; none: no check).",
)
@click.option(
    "--password",
    envvar="CONNECTOR_CUSTOMS_PASSWORD",
    help="Its password (default: $CONNECTOR_CUSTOMS_PASSWORD).",
)
@click.option(
    "--password-type",
    type=click.Choice(["any", "digest", "text"]),
    default="any",
    show_default=True,
    help="Accept only PasswordDigest or only PasswordText.",
)
@handle_errors
def serve(
    host: str,
    port: int,
    record: Path,
    fail_first: int,
    user: str | None,
    password: str | None,
    password_type: str,
) -> None:
    """Serve the callback WSDL and SubmitControlResult, recording every call."""
    from cites_connector.app.log_setup import configure_logging
    from cites_connector.devtools.customs_simulator.app import CustomsSimulator
    from cites_connector.devtools.customs_simulator.recorder import open_recorder
    from cites_connector.devtools.customs_simulator.server import BackgroundServer

    configure_logging("INFO", "json", sys.stdout)
    app = CustomsSimulator(
        open_recorder(record),
        users={user: password or ""} if user else None,
        fail_first=fail_first,
        password_type=password_type,
    )
    server = BackgroundServer(app, host, port)
    url = server.url(app.path)
    click.echo(
        f"customs simulator on {url} (WSDL: {url}?wsdl), recording to {record}\n"
        f"point the connector at it: CONNECTOR_CUSTOMS_URL={url}",
        err=True,
    )
    _stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


CALL_COLUMNS = (
    Column("received_at", "Received"),
    Column("callback_id", "Callback id"),
    Column("declaration_id", "Declaration"),
    Column("version", "Version"),
    Column("decision", "Decision"),
    Column("duplicate", "Duplicate"),
)


@simulate_customs.command()
@RECORD
@format_option
@handle_errors
def calls(record: Path, fmt: str) -> None:
    """The control results the simulator received, oldest first."""
    from dataclasses import asdict

    from cites_connector.devtools.customs_simulator.recorder import open_recorder

    if not record.exists():
        raise FileNotFoundError(f"no recorded calls: {record} does not exist")
    received = open_recorder(record).calls()
    rows = [asdict(c) for c in received]
    emit(fmt, rows, Listing("call", CALL_COLUMNS, rows))


#: faults about the request itself are bad input (exit 2), like the CLI's own
_INPUT_FAULTS = (
    "Client.Authentication",
    "Client.MalformedXml",
    "Client.SchemaViolation",
    "Client.MappingFailed",
    "Client.TooLarge",
)


def _fault_exit(code: str) -> int:
    if code in _INPUT_FAULTS:
        return EXIT_USAGE
    return EXIT_UNAVAILABLE if code == "Server.Unavailable" else EXIT_REFUSED


def _show_result(fmt: str, result: dict[str, Any]) -> None:
    """The decision as the connector answered it, in the columns of ``declarations check``."""
    items: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    for item in result.get("Items") or []:
        unit = item.get("Unit") or None
        number, country, line = (
            item.get(k) for k in ("PermitNumber", "IssuingCountry", "PermitLine")
        )
        items.append(
            {
                "item_number": item.get("ItemNumber"),
                "hs_code": item.get("HsCode"),
                "status": item.get("Status"),
                "permit": permit_ref(number, country, line),
                "permit_number": number,
                "issuing_country": country,
                "permit_line": line,
                "quantity": _qty(item.get("Quantity"), unit),
                "unit": unit,
                "remaining_after": _qty(item.get("RemainingAfter"), unit),
            }
        )
        for kind, entries in (
            ("reason", item.get("Reasons")),
            ("risk flag", item.get("RiskFlags")),
        ):
            reasons += [
                {
                    "item_number": item.get("ItemNumber"),
                    "kind": kind,
                    "code": r["Code"],
                    "message": r["Message"],
                }
                for r in entries or []
            ]
    reasons += [
        {"item_number": None, "kind": "declaration", "code": r["Code"], "message": r["Message"]}
        for r in result.get("Reasons") or []
    ]
    shown: tuple[Listing, ...] = decision_listings(items, reasons)
    if fmt == "table":
        click.echo(
            f"Declaration {result.get('DeclarationId')} version {result.get('Version')}: "
            f"{result.get('Decision')}\n"
        )
        shown = shown if reasons else shown[:1]
    emit(fmt, result, *shown)


def _qty(value: Any, unit: str | None) -> Qty | None:
    return None if value in (None, "") else Qty(Decimal(str(value)), unit)


@simulate_customs.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--connector",
    "connector_url",
    default="http://127.0.0.1:8088/soap/clearance",
    show_default=True,
    help="The connector's clearance service (its ?wsdl is read).",
)
@click.option("--id", "declaration_id", required=True, help="Declaration id.")
@click.option("--version", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--user", default=None, help="WS-Security user name.")
@click.option("--password", default=None, help="WS-Security password.")
@click.option("--digest", is_flag=True, help="Send the password as PasswordDigest.")
@format_option
@handle_errors
def send(
    file: Path,
    connector_url: str,
    declaration_id: str,
    version: int,
    user: str | None,
    password: str | None,
    digest: bool,
    fmt: str,
) -> None:
    """Send a SAD XML file to the connector's CheckDeclaration and print the decision.

    Exit codes as for declarations clear: 1 when the declaration is held."""
    from cites_connector.adapters.soap.clearance_client import (
        ClearanceClient,
        ClearanceFault,
        ClearanceUnreachable,
    )

    wsdl_url = connector_url if connector_url.endswith("?wsdl") else f"{connector_url}?wsdl"
    try:
        result = ClearanceClient(wsdl_url, user, password, digest=digest).check_declaration(
            declaration_id, version, file.read_bytes()
        )
    except ClearanceFault as fault:
        click.echo(f"error: the connector answered {fault.code}: {fault.message}", err=True)
        sys.exit(_fault_exit(fault.code))
    except ClearanceUnreachable as exc:
        click.echo(f"error: the connector at {connector_url} is not reachable: {exc}", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    _show_result(fmt, result)
    sys.exit(EXIT_REFUSED if result.get("Decision") == "HELD" else EXIT_OK)
