"""``cites-connector simulate-epix certificates|serve|calls``: an EPIX hub for demos and tests.

``certificates`` makes a throwaway CA with a server and a client certificate (and a rogue
client certificate from another CA); ``serve`` answers GetFinalCitesCertificate,
GetNonFinalCitesCertificate, ConfirmQuantities and ServiceState over HTTPS, requiring a client
certificate of that CA; ``calls`` shows the ConfirmQuantities received. None of them needs the
connector's settings or database (docs/epix.md).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from cites_connector.cli.main import cli, handle_errors
from cites_connector.cli.output import Column, Listing, emit, format_option

RECORD = click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("var/epix-simulator.json"),
    show_default=True,
    help="The JSON file ConfirmQuantities calls are recorded in.",
)


@cli.group("simulate-epix")
def simulate_epix() -> None:
    """Play the EPIX hub: serve ePermits, record ConfirmQuantities."""


@simulate_epix.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--country", default="NA", show_default=True, help="C= of the client certificate.")
@handle_errors
def certificates(directory: Path, country: str) -> None:
    """Write a throwaway CA, server and client certificates (PEM) into DIRECTORY."""
    from cites_connector.devtools.certificates import make_test_pki

    pki = make_test_pki(directory, client_country=country.upper())
    click.echo(
        f"certificates in {pki.directory}: CA {pki.ca.name}, server {pki.server_cert.name}, "
        f"client {pki.client_cert.name} (+ {pki.client_key.name}); for the connector:\n"
        f"CONNECTOR_EPIX_CLIENT_CERT={pki.client_cert}\n"
        f"CONNECTOR_EPIX_CLIENT_KEY={pki.client_key}\n"
        f"CONNECTOR_EPIX_CA_FILE={pki.ca}"
    )


def _stop_on_sigterm() -> None:
    def interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@simulate_epix.command()
@click.option(
    "--permits",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="Folder of ePermit XML files (bare or in an EPIX envelope) to answer from.",
)
@click.option(
    "--certs",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="Folder written by simulate-epix certificates.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@RECORD
@click.option(
    "--fail-first",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Answer the first N ConfirmQuantities with a Server fault (to watch the outbox retry).",
)
@click.option("--token", default=None, help="Require this TokenId (default: any).")
@handle_errors
def serve(
    permits: Path,
    certs: Path,
    host: str,
    port: int,
    record: Path,
    fail_first: int,
    token: str | None,
) -> None:
    """Serve the EPIX operations over HTTPS with mutual TLS."""
    from cites_connector.app.log_setup import configure_logging
    from cites_connector.devtools.epix_simulator.app import EpixSimulator
    from cites_connector.devtools.epix_simulator.recorder import ConfirmRecorder
    from cites_connector.devtools.epix_simulator.server import TlsWsgiServer

    configure_logging("INFO", "json", sys.stdout)
    app = EpixSimulator(permits, ConfirmRecorder(record), fail_first=fail_first, token=token)
    server = TlsWsgiServer(
        app,
        cert=certs / "server.pem",
        key=certs / "server-key.pem",
        ca=certs / "ca.pem",
        host=host,
        port=port,
    )
    url = server.url(app.path)
    served = len({key[:2] for key in app.certificates()})
    click.echo(
        f"EPIX simulator on {url} (WSDL: {url}?wsdl), {served} permits "
        f"from {permits}, recording to {record}\n"
        f"point the connector at it: CONNECTOR_EPIX_URL={url}",
        err=True,
    )
    _stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


#: what ``calls`` shows of each recorded ConfirmQuantities call
CALL_COLUMNS = (
    Column("received_at", "Received"),
    Column("confirmation_id", "Confirmation id"),
    Column("certificate_number", "Certificate"),
    Column("iso_country_code", "Country"),
    Column("positions", "Positions"),
    Column("duplicate", "Duplicate"),
)


@simulate_epix.command()
@RECORD
@format_option
@handle_errors
def calls(record: Path, fmt: str) -> None:
    """The ConfirmQuantities calls the simulator received, oldest first."""
    from cites_connector.devtools.epix_simulator.recorder import read_calls

    if not record.exists():
        raise FileNotFoundError(f"no recorded calls: {record} does not exist")
    received = [asdict(c) for c in read_calls(record)]
    rows = [
        {
            **c,
            "positions": ", ".join(f"{p['id']}: {p['quantity']}" for p in c["positions"]),
            "duplicate": "yes" if c["duplicate"] else "",
        }
        for c in received
    ]
    emit(fmt, received, Listing("call", CALL_COLUMNS, rows))
