"""``cites-connector simulate-customs serve|calls|send``: the customs system, for demos and tests.

``serve`` receives the connector's SubmitControlResult callbacks and records them; ``calls``
shows what was received; ``send`` plays customs the other way round, sending a SAD file to
the connector's CheckDeclaration. None of them needs the connector's settings or database.
"""

from __future__ import annotations

import contextlib
import signal
import sys
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
from cites_connector.cli.output import emit_json, table

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


@simulate_customs.command()
@RECORD
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def calls(record: Path, as_json: bool) -> None:
    """The control results the simulator received, oldest first."""
    from dataclasses import asdict

    from cites_connector.devtools.customs_simulator.recorder import open_recorder

    if not record.exists():
        raise FileNotFoundError(f"no recorded calls: {record} does not exist")
    received = open_recorder(record).calls()
    if as_json:
        emit_json([asdict(c) for c in received])
        return
    click.echo(
        table(
            ["Received", "Callback id", "Declaration", "Version", "Decision", "Duplicate"],
            [
                [
                    c.received_at,
                    c.callback_id,
                    c.declaration_id,
                    c.version,
                    c.decision,
                    "yes" if c.duplicate else "",
                ]
                for c in received
            ],
        )
    )


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


def _result_text(result: dict[str, Any]) -> str:
    head = (
        f"Declaration {result.get('DeclarationId')} version {result.get('Version')}: "
        f"{result.get('Decision')}"
    )
    rows, details = [], []
    for item in result.get("Items") or []:
        permit = (
            f"{item.get('PermitNumber')} ({item.get('IssuingCountry')}) line "
            f"{item.get('PermitLine')}"
            if item.get("PermitNumber")
            else ""
        )
        rows.append(
            [
                item.get("ItemNumber"),
                item.get("HsCode"),
                item.get("Status"),
                permit,
                " ".join(str(v) for v in (item.get("Quantity"), item.get("Unit")) if v),
                item.get("RemainingAfter"),
            ]
        )
        for kind, entries in (("", item.get("Reasons")), ("flag ", item.get("RiskFlags"))):
            details += [
                f"  item {item.get('ItemNumber')}  {kind}{r['Code']}: {r['Message']}"
                for r in entries or []
            ]
    details += [f"  declaration  {r['Code']}: {r['Message']}" for r in result.get("Reasons") or []]
    parts = [
        head,
        "",
        table(["Item", "HS code", "Status", "Permit", "Quantity", "Remaining after"], rows),
    ]
    return "\n".join(parts + (["", "Reasons and risk flags:", *details] if details else []))


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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def send(
    file: Path,
    connector_url: str,
    declaration_id: str,
    version: int,
    user: str | None,
    password: str | None,
    digest: bool,
    as_json: bool,
) -> None:
    """Send a SAD XML file to the connector's CheckDeclaration and print the decision.

    Exit codes as for ``declarations clear``: 1 when the declaration is held."""
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
    if as_json:
        emit_json(result)
    else:
        click.echo(_result_text(result))
    sys.exit(EXIT_REFUSED if result.get("Decision") == "HELD" else EXIT_OK)
