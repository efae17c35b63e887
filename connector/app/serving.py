"""What ``cites-connector serve`` runs, built from what (the rest is ``application.py``)::

    Settings
     └ build_serve
        ├ build_application(ask_permit_system=True)     application.py
        │   ├ engine (audit key attached) → SqlAlchemyLedger, SqlHsTableStore
        │   ├ Rulebook: HS tables, taxonomy, DecisionPolicy from settings and the SAD mapping
        │   └ build_services: PermitService, ClearanceService + UnknownPermitLookup (AMQP)
        ├ build_workers
        │   ├ build_outbox_relay: OutboxRelay on SqlOutboxStore, AMQP + customs deliverers
        │   ├ build_permit_consumer: PermitConsumer → PermitService, wakes the relay
        │   └ AuditSealWorker
        ├ build_soap_app: Operations → services, WS-Security (SqlNonceStore), /healthz
        ├ build_soap_server: waitress on CONNECTOR_SOAP_HOST:PORT
        └ the web console (console_serving.py): Flask on CONNECTOR_CONSOLE_HOST:PORT

Nothing connects here: the workers connect in their own threads when started. Adapters get
settings values, stores and services, never the application itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog

from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
from cites_connector.adapters.amqp.publisher import CHANNEL as AMQP_CHANNEL
from cites_connector.adapters.amqp.publisher import AmqpDeliverer
from cites_connector.adapters.customs.callback_client import CHANNEL as CUSTOMS_CHANNEL
from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
from cites_connector.adapters.notifications.renderer import NotificationRenderer
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import Deliverer
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.outbox.worker import RelayWorker
from cites_connector.adapters.soap.health import HealthCheck, database_probe
from cites_connector.adapters.soap.operations import Operations
from cites_connector.adapters.soap.users import SoapUser
from cites_connector.adapters.soap.waitress_server import SoapServer
from cites_connector.adapters.soap.wsgi import ClearanceWsgiApp
from cites_connector.adapters.soap.wss_time import Freshness
from cites_connector.adapters.sql.audit_checks import check_audit_key
from cites_connector.adapters.sql.audit_sealer import AuditSealWorker
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.adapters.sql.wss_nonces import SqlNonceStore
from cites_connector.app.application import Application, build_application
from cites_connector.app.console_serving import ConsoleFactory
from cites_connector.app.settings import Settings

log = structlog.get_logger("connector.serve")

# -- the workers ------------------------------------------------------------------------------


def customs_deliverers(settings: Settings) -> dict[str, Deliverer]:
    """The ``customs-callback`` deliverer when ``CONNECTOR_CUSTOMS_URL`` is set; without it
    callbacks wait in the outbox (contract 9) and the relay leaves them alone. A URL the
    client refuses (plain http not allowed, not an http URL) is InvalidInput: ``serve`` stops
    with exit 2 rather than run with callbacks that can never be sent safely."""
    if not settings.customs_url:
        return {}
    password = settings.customs_password.get_secret_value() if settings.customs_password else None
    return {
        CUSTOMS_CHANNEL: CustomsCallbackClient(
            settings.customs_url,
            user=settings.customs_user,
            password=password,
            password_type=settings.customs_password_type,
            allow_http=settings.customs_allow_http,
        )
    }


def build_outbox_relay(
    app: Application,
    *,
    renderer: NotificationRenderer | None = None,
    poll_interval: float = 0.5,
    batch_size: int = 100,
    backoff: Backoff | None = None,
) -> RelayWorker:
    """The relay with the ``amqp`` deliverer and, when ``CONNECTOR_CUSTOMS_URL`` is set, the
    customs callback's. The templates are compiled and tried here, at start-up."""
    settings = app.settings
    renderer = renderer or NotificationRenderer.from_directory()
    deliverers: dict[str, Deliverer] = {
        AMQP_CHANNEL: AmqpDeliverer(settings.amqp_url, renderer=renderer)
    }
    deliverers |= customs_deliverers(settings)
    relay = OutboxRelay(
        SqlOutboxStore(app.engine),
        deliverers,
        clock=app.clock,
        backoff=backoff or Backoff(),
        batch_size=batch_size,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        max_attempts=settings.outbox_max_attempts,
    )
    return RelayWorker(relay, poll_interval=poll_interval)


def build_permit_consumer(app: Application, relay: RelayWorker | None = None) -> PermitConsumer:
    """Permit events from ``cites.permits``; each one applied wakes the relay."""
    settings = app.settings
    return PermitConsumer(
        app.permits,
        settings.amqp_url,
        SqlDeliveryAttempts.for_ledger(app.ledger),
        publishers=settings.permit_publishers,
        prefetch=settings.amqp_prefetch,
        workers=settings.amqp_workers,
        delivery_limit=settings.amqp_delivery_limit,
        broker_delivery_limit=settings.amqp_broker_delivery_limit,
        max_bytes=settings.max_request_bytes,
        stuck_seconds=settings.amqp_stuck_seconds,
        reconnect=Backoff(initial=0.5, maximum=settings.amqp_reconnect_max_seconds, jitter=0.5),
        on_applied=relay.wake if relay is not None else None,
    )


@dataclass(frozen=True)
class Workers:
    """What ``serve`` runs beside SOAP, each with ``start()`` and ``stop(timeout)``."""

    relay: RelayWorker
    consumer: PermitConsumer
    sealer: AuditSealWorker

    @property
    def in_start_order(self) -> list[RelayWorker | PermitConsumer | AuditSealWorker]:
        return [self.relay, self.consumer, self.sealer]


def build_workers(app: Application) -> Workers:
    relay = build_outbox_relay(app)
    return Workers(
        relay=relay,
        consumer=build_permit_consumer(app, relay),
        sealer=AuditSealWorker(
            app.engine, interval=app.settings.audit_seal_seconds, clock=app.clock
        ),
    )


# -- SOAP ---------------------------------------------------------------------------------------


def build_soap_app(
    app: Application,
    *,
    users: Mapping[str, SoapUser | str] | None,
    auth: bool = True,
    health: HealthCheck | None = None,
    bench_baseline: bool = False,
) -> ClearanceWsgiApp:
    settings = app.settings
    return ClearanceWsgiApp(
        Operations(
            app.clearance,
            app.permits,
            app.map_sad,
            home_country=settings.home_country,
            clock=app.clock,
        ),
        health=health or HealthCheck([("database", database_probe(app.engine))]),
        remember_nonce=SqlNonceStore(app.engine).remember,
        freshness=Freshness(settings.soap_nonce_window_seconds, settings.soap_clock_skew_seconds),
        max_bytes=settings.max_request_bytes,
        users=users,
        auth=auth,
        public_url=settings.soap_public_url,
        bench_baseline=bench_baseline,
    )


def build_soap_server(
    settings: Settings,
    wsgi: ClearanceWsgiApp,
    *,
    threads: int,
    host: str | None = None,
    port: int | None = None,
) -> SoapServer:
    """Waitress on CONNECTOR_SOAP_HOST:PORT (``port=0``: a free one, for tests)."""
    return SoapServer(
        wsgi,
        host=settings.soap_host if host is None else host,
        port=settings.soap_port if port is None else port,
        threads=threads,
        max_body_bytes=settings.max_request_bytes,
        connection_limit=settings.soap_connection_limit,
        header_timeout=settings.soap_header_timeout_seconds,
        idle_timeout=settings.soap_idle_timeout_seconds,
        trusted_proxy=settings.soap_trusted_proxy,
    )


@dataclass(frozen=True)
class Served:
    """Everything ``cites-connector serve`` runs, built from settings."""

    app: Application
    workers: Workers
    wsgi: ClearanceWsgiApp
    server: SoapServer
    #: the web console's server; None when switched off or its port could not be had
    console: SoapServer | None = None


def build_console(app: Application, factory: ConsoleFactory | None) -> SoapServer | None:
    """The console on its own port. It is not what customs depends on: when its address
    cannot be listened on, ``serve`` logs the error and runs SOAP and the workers without it
    (a bad key file stops ``serve``, as any bad setting does)."""
    settings = app.settings
    if factory is None or not settings.console_enabled:
        return None
    from cites_connector.app.console_serving import build_console_app, build_console_server

    wsgi = build_console_app(app, factory)
    try:
        return build_console_server(settings, wsgi)
    except OSError as exc:
        log.error(
            "console.listen_failed",
            address=f"{settings.console_host}:{settings.console_port}",
            error=str(exc),
        )
        return None


def build_serve(
    settings: Settings,
    *,
    users: dict[str, SoapUser],
    auth: bool,
    threads: int,
    bench_baseline: bool = False,
    console: ConsoleFactory | None = None,
) -> Served:
    """The application with the permit lookup, its workers, /healthz over both, and SOAP.
    The audit key is checked first: no audit rows a verifier could not check (contract 9).
    OSError: the SOAP address cannot be listened on."""
    app = build_application(settings, ask_permit_system=True)
    check_audit_key(app.engine)
    workers = build_workers(app)
    health = HealthCheck([("database", database_probe(app.engine))])
    health.add(workers.consumer.name, workers.consumer.health_probe)
    for name, note in workers.consumer.health_notes:
        health.add(name, note, critical=False)
    wsgi = build_soap_app(app, users=users, auth=auth, health=health, bench_baseline=bench_baseline)
    server = build_soap_server(settings, wsgi, threads=threads)
    return Served(app, workers, wsgi, server, build_console(app, console))
