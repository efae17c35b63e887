"""What ``cites-connector serve`` runs, built from what (the rest is ``application.py``)::

    Settings
     └ build_serve
        ├ build_application(ask_permit_system=True)     application.py
        │   ├ engine (audit key attached) → SqlAlchemyLedger, SqlHsTableStore
        │   ├ Rulebook: HS tables, taxonomy, DecisionPolicy from settings and the SAD mapping
        │   └ build_services: PermitService, ClearanceService + UnknownPermitLookup (AMQP)
        ├ build_workers
        │   ├ build_outbox_relay: OutboxLanes (outbox_lanes.py), one OutboxRelay thread per
        │   │   lane (amqp, customs, epix) on SqlOutboxStore, a LeaseKeeper renewing leases
        │   ├ build_permit_consumer: PermitConsumer → PermitService, wakes the relay
        │   ├ AuditSealWorker
        │   └ ReaskWorker: held declarations' EPIX permits asked again (with EPIX)
        ├ build_soap_app: Operations → services, WS-Security (SqlNonceStore), /healthz
        │   (epix: reachable | unreachable | unknown | not configured, never 503 by itself)
        ├ build_monitoring: /metrics (ConnectorMetrics, its own registry), /livez, /readyz
        ├ build_soap_server: waitress on CONNECTOR_SOAP_HOST:PORT
        └ the web console (console_serving.py): Flask on CONNECTOR_CONSOLE_HOST:PORT

Nothing connects here: the workers connect in their own threads when started. Adapters get
settings values, stores and services, never the application itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
from cites_connector.adapters.amqp.publisher import CHANNEL as AMQP_CHANNEL
from cites_connector.adapters.customs.callback_client import CHANNEL as CUSTOMS_CHANNEL
from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
from cites_connector.adapters.epermit_trust import signature_rules
from cites_connector.adapters.metrics.endpoints import Monitoring, connector_version
from cites_connector.adapters.metrics.instruments import CountedCallbacks
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.metrics.scrape import ConsumerCollector, LedgerCollector
from cites_connector.adapters.notifications.renderer import NotificationRenderer
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import Deliverer
from cites_connector.adapters.outbox.worker import OutboxLanes, RelayWorker
from cites_connector.adapters.soap.health import HealthCheck, database_probe
from cites_connector.adapters.soap.operations import Operations
from cites_connector.adapters.soap.users import SoapUser
from cites_connector.adapters.soap.waitress_server import SoapServer
from cites_connector.adapters.soap.wsgi import ClearanceWsgiApp
from cites_connector.adapters.soap.wss_time import Freshness
from cites_connector.adapters.sql.audit_checks import check_audit_key
from cites_connector.adapters.sql.audit_sealer import AuditSealWorker
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.adapters.sql.migrate import refuse_unmigrated
from cites_connector.adapters.sql.wss_nonces import SqlNonceStore
from cites_connector.app.application import Application, build_application
from cites_connector.app.console_serving import ConsoleFactory, build_console
from cites_connector.app.declarant_wiring import notifying_deliverer
from cites_connector.app.dependency_watch import watched
from cites_connector.app.epix_wiring import EPIX, epix_deliverers
from cites_connector.app.outbox_lanes import outbox_lanes
from cites_connector.app.reask_worker import ReaskWorker, build_reask_worker, epix_probe
from cites_connector.app.settings import Settings

# -- the workers ------------------------------------------------------------------------------


def customs_deliverers(
    settings: Settings, metrics: ConnectorMetrics | None = None
) -> dict[str, Deliverer]:
    """The ``customs-callback`` deliverer when ``CONNECTOR_CUSTOMS_URL`` is set; without it
    callbacks wait in the outbox (contract 9) and the relay leaves them alone. A URL the
    client refuses (plain http not allowed, not an http URL) is InvalidInput: ``serve`` stops
    with exit 2 rather than run with callbacks that can never be sent safely."""
    if not settings.customs_url:
        return {}
    password = settings.customs_password.get_secret_value() if settings.customs_password else None
    client: Deliverer = CustomsCallbackClient(
        settings.customs_url,
        user=settings.customs_user,
        password=password,
        password_type=settings.customs_password_type,
        allow_http=settings.customs_allow_http,
    )
    return {CUSTOMS_CHANNEL: CountedCallbacks(client, metrics) if metrics else client}


def build_outbox_relay(
    app: Application,
    *,
    renderer: NotificationRenderer | None = None,
    poll_interval: float = 0.5,
    batch_size: int = 100,
    backoff: Backoff | None = None,
    metrics: ConnectorMetrics | None = None,
    max_error_delay: float = 5.0,
) -> OutboxLanes:
    """One relay thread per lane (adapters/outbox/lanes.py): ``amqp`` always, ``customs``
    when ``CONNECTOR_CUSTOMS_URL`` is set, ``epix`` when ``CONNECTOR_EPIX_URL`` is; each
    claims only its own channels' rows. The templates are compiled and tried here, at
    start-up, in every language with a catalog; each notification is written in its
    declarant's language."""
    settings = app.settings
    deliverers: dict[str, Deliverer] = {AMQP_CHANNEL: notifying_deliverer(app, renderer)}
    deliverers |= customs_deliverers(settings, metrics)
    deliverers |= epix_deliverers(settings)  # epix.confirm: its own channel (docs/epix.md)
    return outbox_lanes(
        app,
        watched(deliverers, app.service_state),  # the console shows customs and broker
        poll_interval=poll_interval,
        batch_size=batch_size,
        backoff=backoff,
        max_error_delay=max_error_delay,
    )


def build_permit_consumer(
    app: Application,
    relay: OutboxLanes | RelayWorker | None = None,
    metrics: ConnectorMetrics | None = None,
) -> PermitConsumer:
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
        signatures=signature_rules(settings.epermit_signatures, settings.effective_trust_dir),
        stuck_seconds=settings.amqp_stuck_seconds,
        reconnect=Backoff(initial=0.5, maximum=settings.amqp_reconnect_max_seconds, jitter=0.5),
        on_applied=relay.wake if relay is not None else None,
        metrics=metrics,
    )


AnyWorker = OutboxLanes | PermitConsumer | AuditSealWorker | ReaskWorker


@dataclass(frozen=True)
class Workers:
    """What ``serve`` runs beside SOAP, each with ``start()`` and ``stop(timeout)``."""

    relay: OutboxLanes
    consumer: PermitConsumer
    sealer: AuditSealWorker
    reask: ReaskWorker | None = None  # with EPIX: services/reask.py

    @property
    def in_start_order(self) -> list[AnyWorker]:
        return [self.relay, self.consumer, self.sealer, *([self.reask] if self.reask else [])]


def build_workers(app: Application, metrics: ConnectorMetrics | None = None) -> Workers:
    relay = build_outbox_relay(app, metrics=metrics)
    return Workers(
        relay=relay,
        consumer=build_permit_consumer(app, relay, metrics),
        sealer=AuditSealWorker(
            app.engine, interval=app.settings.audit_seal_seconds, clock=app.clock
        ),
        reask=build_reask_worker(app),
    )


# -- SOAP ---------------------------------------------------------------------------------------


def build_soap_app(
    app: Application,
    *,
    users: Mapping[str, SoapUser | str] | None,
    auth: bool = True,
    health: HealthCheck | None = None,
    bench_baseline: bool = False,
    monitoring: Monitoring | None = None,
) -> ClearanceWsgiApp:
    settings = app.settings
    return ClearanceWsgiApp(
        Operations(
            app.clearance,
            app.permits,
            app.map_sad,
            home_country=settings.home_country,
            clock=app.clock,
            on_decided=monitoring.metrics.decided if monitoring else None,
        ),
        health=health or HealthCheck([("database", database_probe(app.engine))]),
        remember_nonce=SqlNonceStore(app.engine).remember,
        freshness=Freshness(settings.soap_nonce_window_seconds, settings.soap_clock_skew_seconds),
        max_bytes=settings.max_request_bytes,
        users=users,
        auth=auth,
        public_url=settings.soap_public_url,
        bench_baseline=bench_baseline,
        monitoring=monitoring,
    )


def build_monitoring(app: Application, metrics: ConnectorMetrics, workers: Workers) -> Monitoring:
    """/metrics with the gauges read at scrape time; /readyz: the database, RabbitMQ (every
    consumer thread connected), the consumer's progress and each outbox lane's (``outbox-amqp``
    ...: 503 while a lane is stuck); /livez: the worker threads."""
    lanes = workers.relay
    metrics.add_collector(LedgerCollector(app.engine, app.clock, lanes.stuck_lanes))
    consumer = workers.consumer
    metrics.add_collector(ConsumerCollector(consumer.stuck_threads, consumer.dead_letter_depth))
    readiness = HealthCheck(
        [
            ("database", database_probe(app.engine)),
            ("broker", consumer.broker_probe),
            ("consumer", consumer.progress_probe),
            *((f"outbox-{lane}", lanes.probe(lane)) for lane in lanes.lanes),
        ]
    )
    liveness = [
        (workers.relay.name, lambda: workers.relay.running),
        (consumer.name, lambda: consumer.running),
        (workers.sealer.name, lambda: workers.sealer.running),
    ]
    if (reask := workers.reask) is not None:
        liveness.append((reask.name, lambda: reask.running))
    return Monitoring(metrics, readiness, liveness)


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
    metrics = ConnectorMetrics(
        connector_version(), database=make_url(settings.effective_database_url).get_backend_name()
    )
    app = build_application(settings, ask_permit_system=True, metrics=metrics)
    check_audit_key(app.engine)  # a missing key file first: exit 2, whatever the database
    refuse_unmigrated(app.engine)
    workers = build_workers(app, metrics)
    health = HealthCheck([("database", database_probe(app.engine))])
    health.add(workers.consumer.name, workers.consumer.health_probe)
    for name, note in workers.consumer.health_notes:
        health.add(name, note, critical=False)
    health.add(EPIX, epix_probe(app), critical=False)
    wsgi = build_soap_app(
        app,
        users=users,
        auth=auth,
        health=health,
        bench_baseline=bench_baseline,
        monitoring=build_monitoring(app, metrics, workers),
    )
    server = build_soap_server(settings, wsgi, threads=threads)
    return Served(app, workers, wsgi, server, build_console(app, console))
