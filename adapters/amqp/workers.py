"""What ``cites-connector serve`` runs over RabbitMQ, built from a bootstrapped ``App``.

Nothing here connects: connections are opened by the workers' own threads when they start,
and by each permit lookup when a declaration cites an unknown permit.
"""

from __future__ import annotations

from datetime import timedelta

from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
from cites_connector.adapters.amqp.permit_lookup import AmqpPermitLookup
from cites_connector.adapters.amqp.publisher import CHANNEL, AmqpDeliverer
from cites_connector.adapters.customs.callback_client import customs_deliverers
from cites_connector.adapters.notifications.renderer import NotificationRenderer
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.worker import RelayWorker, build_relay
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.services.permit_lookup import UnknownPermitLookup


def wire_permit_lookup(app) -> UnknownPermitLookup:
    """Contract 3.3: a declaration citing unknown permits asks the permit system, all at once
    under one deadline, and a permit found is stored like a permit event of the publisher who
    answered, before the declaration is decided."""
    settings = app.settings
    port = AmqpPermitLookup(
        settings.amqp_url,
        publishers=settings.permit_publishers,
        max_bytes=settings.max_request_bytes,
    )
    lookup = UnknownPermitLookup(
        port,
        timeout=settings.lookup_timeout,
        max_per_declaration=settings.lookup_max_per_declaration,
        negative_ttl=settings.lookup_negative_ttl,
    )
    app.clearance.lookup = lookup
    app.clearance.store_found = app.permits.apply
    return lookup


def build_outbox_relay(
    app, *, renderer: NotificationRenderer | None = None, **options
) -> RelayWorker:
    """The relay with the ``amqp`` deliverer and, when ``CONNECTOR_CUSTOMS_URL`` is set, the
    customs callback's. The templates are compiled and tried here, at start-up."""
    renderer = renderer or NotificationRenderer.from_directory()
    deliverers = {CHANNEL: AmqpDeliverer(app.settings.amqp_url, renderer=renderer)}
    deliverers |= customs_deliverers(app.settings)
    options.setdefault("lease", timedelta(seconds=app.settings.outbox_lease_seconds))
    return build_relay(app, deliverers, **options)


def build_permit_consumer(app, relay: RelayWorker | None = None) -> PermitConsumer:
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


def build_amqp_workers(app) -> list:
    """Outbox relay and permit consumer; the permit lookup is wired into the clearance
    service as a side effect (it is not a thread of its own)."""
    wire_permit_lookup(app)
    relay = build_outbox_relay(app)
    return [relay, build_permit_consumer(app, relay)]
