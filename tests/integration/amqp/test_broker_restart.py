"""RabbitMQ restarted under a running connector: the consumer and the relay reconnect by
themselves and carry on; nothing published before or during the outage is lost."""

from __future__ import annotations

import json

import pytest

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.app.serving import build_outbox_relay, build_permit_consumer
from cites_connector.domain.permits import ConsignmentPolicy
from cites_connector.domain.usages import DeclarationState
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    make_app,
    running,
    sample_permits,
    stored_permit,
    wait_for,
)
from tests.integration.kit import export, permit, python_item, pythons

pytestmark = pytest.mark.rabbitmq


def healthy(worker) -> bool:
    try:
        worker.health_probe()
        return True
    except ConnectionError:
        return False


def test_the_connector_reconnects_after_a_broker_restart_and_carries_on(
    tmp_path, amqp_url, rabbit_node
):
    # the application's clock stands still (amqp_kit), so every poll finds a failed row due
    # again: allow attempts enough for a slow broker restart on a loaded machine (with the
    # default 100, a restart taking over ~5 s failed the rows written meanwhile)
    app = make_app(
        tmp_path,
        amqp_url,
        amqp_reconnect_max_seconds=1.0,
        amqp_workers=2,
        outbox_max_attempts=100_000,
    )
    app.permits.apply(permit("26NA000500", pythons(100), policy=ConsignmentPolicy.MULTIPLE))
    held = app.clearance.clear("D-HELD", 1, export(python_item(1, 40, "26NA000123")))
    assert held.decision.decision.value == "HELD"
    broker = TestBroker(amqp_url)
    usage = broker.capture(topology.USAGE_EXCHANGE)
    broker.close()
    relay = build_outbox_relay(
        app, poll_interval=0.05, backoff=Backoff(initial=0.2, maximum=1.0, jitter=0.0)
    )
    consumer = build_permit_consumer(app, relay)
    restarted = False
    try:
        with running(relay, consumer):
            app.clearance.clear("D-BEFORE", 1, export(python_item(1, 1, "26NA000500")))
            rabbit_node.ctl("stop_app")
            wait_for(lambda: not healthy(consumer), what="the consumer to notice")
            # written while the broker is down: waits in the outbox
            app.clearance.clear("D-DURING", 1, export(python_item(1, 2, "26NA000500")))
            rabbit_node.ctl("start_app")
            restarted = True
            wait_for(lambda: healthy(consumer), 60, what="the consumer to reconnect")

            broker = TestBroker(amqp_url)
            broker.publish("permit.issued", sample_permits()[0], message_id="after-restart")
            wait_for(lambda: stored_permit(app, "26NA000123"), what="the permit")
            wait_for(
                lambda: app.clearance.stored("D-HELD").state is DeclarationState.CLEARED,
                what="the release",
            )
            got = broker.collect(usage, 3, timeout=30)
            broker.close()
    finally:
        if not restarted:
            rabbit_node.ctl("start_app")
        app.close()

    declarations = sorted(json.loads(body)["declaration_id"] for _, _, body in got)
    assert declarations == ["D-BEFORE", "D-DURING", "D-HELD"]
