"""``cites-connector serve``: the SOAP clearance service and the background workers.

One process runs the WSGI application under waitress on CONNECTOR_SOAP_HOST:PORT, plus the
workers of ``cites_connector.workers.build_workers`` (outbox relay, permit consumer), and logs JSON
lines to stdout (contract sections 7 and 9). SIGTERM or SIGINT stop it cleanly: no new
connection is accepted, requests in flight are finished and answered, the workers finish the
message in hand, then the process exits 0.
"""

from __future__ import annotations

import signal
import sys
import threading

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
    """Run the SOAP clearance service, the permit consumer and the outbox relay."""
    from cites_connector.adapters.soap.health import HealthCheck, default_probes
    from cites_connector.adapters.soap.users import parse_users
    from cites_connector.adapters.soap.waitress_server import SoapServer
    from cites_connector.adapters.soap.wsgi import ClearanceWsgiApp
    from cites_connector.log_setup import configure_logging
    from cites_connector.workers import build_workers

    settings = obj.settings
    configure_logging(settings.logging.level, settings.logging.format, sys.stdout)
    import structlog

    log = structlog.get_logger("connector.serve")

    auth = settings.soap_auth == "on"
    try:
        users = parse_users(settings.soap_users.get_secret_value() if settings.soap_users else None)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if auth and not users:
        click.echo(
            "error: SOAP authentication is on but CONNECTOR_SOAP_USERS names no user; "
            "set CONNECTOR_SOAP_USERS=user:password[:role+role][@OFFICE+OFFICE][,...] "
            "(or CONNECTOR_SOAP_AUTH=off for a local demo only)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    if not auth:
        log.warning(
            "serve.auth_off",
            detail="CONNECTOR_SOAP_AUTH=off: requests are not authenticated (local demos only)",
        )

    app = obj.app
    from cites_connector.adapters.sql.audit_checks import check_audit_key

    check_audit_key(app.engine)  # no audit rows a verifier could not check (contract 9)
    health = HealthCheck(default_probes(app))
    workers = build_workers(app)
    for worker in workers:
        probe = getattr(worker, "health_probe", None)
        if probe is not None:
            health.add(worker.name, probe)
        for name, note in getattr(worker, "health_notes", ()):
            health.add(name, note, critical=False)
    wsgi = ClearanceWsgiApp(
        app,
        users=users,
        auth=auth,
        public_url=settings.soap_public_url,
        health=health,
        bench_baseline=bench_baseline,
    )
    try:
        server = SoapServer(
            wsgi,
            host=settings.soap_host,
            port=settings.soap_port,
            threads=threads,
            max_body_bytes=settings.max_request_bytes,
            connection_limit=settings.soap_connection_limit,
            header_timeout=settings.soap_header_timeout_seconds,
            idle_timeout=settings.soap_idle_timeout_seconds,
            trusted_proxy=settings.soap_trusted_proxy,
        )
    except OSError as exc:
        click.echo(
            f"error: cannot listen on {settings.soap_host}:{settings.soap_port}: {exc}", err=True
        )
        sys.exit(EXIT_USAGE)

    stopping = threading.Event()
    received: list[str] = []

    def on_signal(signum, _frame) -> None:  # only sets a flag: the main loop does the work
        received.append(signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = []
    try:
        for worker in workers:
            worker.start()
            started.append(worker)
        server.start()
        log.info(
            "serve.started",
            url=f"{server.url}/soap/clearance",
            threads=threads,
            auth=auth,
            workers=[w.name for w in workers],
            bench_baseline=bench_baseline,
        )
        while not stopping.wait(0.5):
            if not server.running:
                log.error("serve.loop_died")
                break
        log.info("serve.stopping", signal=received[0] if received else None, grace_s=grace)
        finished = server.stop(grace)
    finally:
        for worker in reversed(started):
            try:
                worker.stop(timeout=grace)
            except Exception:  # one worker failing to stop must not keep the others running
                log.exception("serve.worker_stop_failed", worker=worker.name)
        wsgi.health.close()
        app.close()
    log.info("serve.stopped", in_flight_finished=finished)
    if not received:
        sys.exit(EXIT_UNAVAILABLE)
