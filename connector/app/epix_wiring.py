"""EPIX in the composition root (docs/epix.md): built from ``EpixSettings`` when
``CONNECTOR_EPIX_URL`` is set, and nothing at all otherwise.

- ``permit_routes``: which source is asked for which expected issuer;
- ``routed_lookup_port``: the AMQP port and the EPIX port behind one ``PermitLookupPort``
  (``RoutedPermitLookup``), so ``UnknownPermitLookup``'s deadline, cap and negative cache hold
  for both;
- ``store_looked_up``: a permit found is stored as a permit event of its publisher; one from
  EPIX also leaves the inbox mark that makes its usages endorsed back (``build_ledger``);
- ``epix_deliverers``: the ``epix.confirm`` outbox channel's deliverer;
- ``watch_epix``: the EPIX port reports each call to the ``ServiceState`` (/healthz, console);
- ``foreign_permit_waits`` and ``build_reask``: the held declarations waiting for a permit
  from EPIX, and the re-ask ``serve`` runs for them (services/reask.py).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from cites_connector.adapters.epix.client import EpixClient, tls_session
from cites_connector.adapters.epix.confirm import CHANNEL as EPIX_CHANNEL
from cites_connector.adapters.epix.confirm import EpixConfirmDeliverer
from cites_connector.adapters.epix.permit_lookup import EpixPermitLookup
from cites_connector.adapters.metrics.instruments import TimedPermitLookup
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import Deliverer
from cites_connector.adapters.sql.epix_endorsements import EpixEndorsingLedger
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.app.settings import Settings
from cites_connector.domain.permits import Permit
from cites_connector.mappings.epix_messages import EPIX_PUBLISHER, epix_mark
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permit_lookup import PermitLookupPort, UnknownPermitLookup
from cites_connector.services.permit_routing import PermitRoutes, RoutedPermitLookup
from cites_connector.services.permits import PermitService
from cites_connector.services.ports import Ledger
from cites_connector.services.reask import ForeignPermitWaits, PermitReask
from cites_connector.services.service_state import ServiceState

AMQP, EPIX = "amqp", "epix"


def permit_routes(settings: Settings) -> PermitRoutes:
    """``CONNECTOR_PERMIT_SOURCES`` as routes; by default the home country from AMQP and the
    others from EPIX when it is configured. A declaration naming no expected issuer is asked
    of the home country's source: EPIX needs a country to ask."""
    given = dict(settings.permit_sources)
    default = given.pop("*", EPIX if settings.epix_url else AMQP)
    by_country = {settings.home_country: AMQP} | given
    return PermitRoutes(
        default=default, by_country=by_country, no_issuer=by_country[settings.home_country]
    )


def epix_client(settings: Settings, read_timeout: float | None = None) -> EpixClient | None:
    if not settings.epix_url:
        return None
    token = settings.epix_token.get_secret_value() if settings.epix_token else ""
    return EpixClient(
        settings.epix_url,
        token=token,
        session=tls_session(
            settings.epix_client_cert, settings.epix_client_key, settings.epix_ca_file
        ),
        timeout=(settings.epix_connect_timeout, read_timeout or settings.epix_confirm_timeout),
        max_bytes=settings.max_request_bytes,
    )


def epix_lookup_port(settings: Settings) -> EpixPermitLookup | None:
    client = epix_client(settings, settings.lookup_timeout)
    if client is None:
        return None
    return EpixPermitLookup(
        client,
        non_final=settings.epix_non_final,
        max_bytes=settings.max_request_bytes,
        max_parallel=max(1, settings.lookup_max_per_declaration),
    )


def routed_lookup_port(
    settings: Settings, amqp: PermitLookupPort, metrics: ConnectorMetrics | None = None
) -> PermitLookupPort:
    """The AMQP port alone when nothing routes to EPIX; else both behind the router."""
    routes = permit_routes(settings)
    epix = epix_lookup_port(settings) if EPIX in routes.sources else None
    if epix is None:
        return amqp
    epix_port: PermitLookupPort = epix
    if metrics is not None:
        epix_port = TimedPermitLookup(epix, metrics, source=EPIX)
    return RoutedPermitLookup({AMQP: amqp, EPIX: epix_port}, routes)


def store_looked_up(permits: PermitService) -> Callable[[Permit, str], object]:
    """Store a found permit as its publisher's permit event; EPIX's with the inbox mark
    (mappings/epix_messages.py) that tells the write-off to confirm its quantities."""

    def store(permit: Permit, publisher: str) -> object:
        mark = (
            epix_mark(permit.permit_number, permit.issuing_country)
            if publisher == EPIX_PUBLISHER
            else None
        )
        return permits.apply(permit, publisher, message_id=mark)

    return store


def build_ledger(engine: Engine, settings: Settings) -> SqlAlchemyLedger:
    """The SQL ledger; with EPIX configured, one whose write-offs of EPIX permits also queue
    ConfirmQuantities in the outbox."""
    if settings.epix_url:
        return EpixEndorsingLedger(engine, home_country=settings.home_country)
    return SqlAlchemyLedger(engine)


def epix_deliverers(settings: Settings) -> dict[str, Deliverer]:
    """``epix.confirm`` when EPIX is configured; without it no such rows are written."""
    client = epix_client(settings)
    return {} if client is None else {EPIX_CHANNEL: EpixConfirmDeliverer(client)}


def epix_port_of(lookup: UnknownPermitLookup | None) -> EpixPermitLookup | None:
    """The EPIX port inside an application's lookup, for a health view to read its
    ``last_ok`` (or to set ``on_reachability``); None when EPIX is not configured."""
    routed = lookup.port if lookup is not None else None
    if not isinstance(routed, RoutedPermitLookup):
        return None
    port = routed.sources.get(EPIX)
    if isinstance(port, TimedPermitLookup):
        port = port.port
    return port if isinstance(port, EpixPermitLookup) else None


def watch_epix(state: ServiceState, settings: Settings, lookup: UnknownPermitLookup | None) -> None:
    """With EPIX configured, name it in ``state`` and let its lookup port report each call
    (reachable or not, and the failure's class, never its message)."""
    if not settings.epix_url:
        return
    state.expect(EPIX)
    port = epix_port_of(lookup)
    if port is None:
        return
    seen = port

    def reached(ok: bool) -> None:
        state.record(EPIX, ok, None if ok else seen.last_error)

    port.on_reachability = reached


def foreign_permit_waits(
    settings: Settings, ledger: Ledger, rulebook: Rulebook
) -> ForeignPermitWaits | None:
    """The held declarations waiting for a permit of an issuer routed to EPIX; None when
    nothing routes to EPIX."""
    routes = permit_routes(settings)
    if EPIX not in routes.sources:
        return None
    return ForeignPermitWaits(ledger, rulebook, lambda issuer: routes.source_for(issuer) == EPIX)


def build_reask(
    settings: Settings,
    waits: ForeignPermitWaits | None,
    lookup: UnknownPermitLookup | None,
    store: Callable[[Permit, str], object] | None,
) -> PermitReask | None:
    """The re-ask of held declarations' EPIX permits (``CONNECTOR_EPIX_REASK_INTERVAL``,
    doubling up to ``CONNECTOR_EPIX_REASK_MAX_INTERVAL``); None when EPIX is not asked, the
    application asks no permit source (CLI) or the interval is 0."""
    if waits is None or lookup is None or store is None or settings.epix_reask_interval <= 0:
        return None
    backoff = Backoff(
        initial=settings.epix_reask_interval,
        maximum=settings.epix_reask_max_interval,
        jitter=0.0,
    )
    return PermitReask(waits, lookup, store, delay=backoff.delay)
