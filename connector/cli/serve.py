"""``cites-connector serve``: the SOAP clearance service and the background workers.

One process runs the WSGI application under waitress on CONNECTOR_SOAP_HOST:PORT, plus the
workers (outbox relay, permit consumer, audit sealer), all built by
``cites_connector.app.serving.build_serve``, and logs JSON lines to stdout (contract sections
7 and 9). SIGTERM or SIGINT stop it cleanly (``cites_connector.app.running``): the process
then exits 0; 3 when the server's loop died by itself.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from cites_connector.cli.main import EXIT_UNAVAILABLE, EXIT_USAGE, Context, cli, handle_errors


@cli.command()
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="CONNECTOR_SOAP_THREADS",
    help="Worker threads serving SOAP requests.",
)
@click.option(
    "--grace",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to let in-flight requests finish on SIGTERM.",
)
@click.option(
    "--bench-baseline",
    is_flag=True,
    hidden=True,
    help="Benchmarking only: also answer POST /bench/baseline with a fixed response.",
)
@click.pass_obj
@handle_errors
def serve(obj: Context, threads: int, grace: float, bench_baseline: bool) -> None:
    """Run the SOAP clearance service, the permit consumer, the outbox relay and the web
    console (CONNECTOR_CONSOLE_PORT, docs/console.md)."""
    import structlog

    from cites_connector.adapters.soap.users import parse_users
    from cites_connector.app.console_serving import ConsoleFactory
    from cites_connector.app.log_setup import configure_logging
    from cites_connector.app.running import run_until_signal
    from cites_connector.app.serving import build_serve
    from cites_connector.console.web import create_console_app

    settings = obj.settings
    configure_logging(settings.logging.level, settings.logging.format, sys.stdout)
    auth = settings.soap_auth == "on"
    try:
        users = parse_users(settings.soap_users.get_secret_value() if settings.soap_users else None)
    except ValueError as exc:
        fail(f"error: {exc}")
    if auth and not users:
        fail(
            "error: SOAP authentication is on but CONNECTOR_SOAP_USERS names no user; "
            "set CONNECTOR_SOAP_USERS=user:password[:role+role][@OFFICE+OFFICE][,...] "
            "(or CONNECTOR_SOAP_AUTH=off for a local demo only)"
        )
    if not auth:
        structlog.get_logger("connector.serve").warning(
            "serve.auth_off",
            detail="CONNECTOR_SOAP_AUTH=off: requests are not authenticated (local demos only)",
        )
    try:
        served = build_serve(
            settings,
            users=users,
            auth=auth,
            threads=threads,
            bench_baseline=bench_baseline,
            console=ConsoleFactory(create_console_app),
        )
    except OSError as exc:
        fail(f"error: cannot listen on {settings.soap_host}:{settings.soap_port}: {exc}")
    if not run_until_signal(served, grace=grace, threads=threads, auth=auth):
        sys.exit(EXIT_UNAVAILABLE)


def fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(EXIT_USAGE)
