"""Issue 9, item 7: a crash loop must not dead-letter valid permits.

With a prefetch of 20 and RabbitMQ's delivery limit of 5, a crash loop right after connecting
sent twenty valid permit events to the dead letters as ``delivery_limit``: RabbitMQ 3.10
counts the prefetched messages of a connection that dies (tests/integration/amqp/
test_delivery_attempts.py shows it), and dead-letters a message on the return after the
limit. Here a real ``cites-connector serve`` is killed with SIGKILL six times (five would
leave RabbitMQ's count at its limit, not over it), each time right after its consumer
connected, with 60 valid permit events waiting; then it runs normally. Every permit must be
applied and none dead-lettered.
"""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql import tables as t
from tests.hostile.amqp_attacks import python_permit
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    make_app,
    serve_env,
    start_serve,
    wait_for,
)

pytestmark = pytest.mark.rabbitmq
EVENTS, CRASHES = 60, 6
CONNECTED = b'"event": "amqp.consumer_connected"'


def applied(app) -> int:
    with app.engine.connect() as c:
        return c.execute(select(func.count()).select_from(t.inbox)).scalar()


def test_five_crashes_right_after_connecting_dead_letter_nothing(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url)
    broker = TestBroker(amqp_url)
    for i in range(EVENTS):
        broker.publish(
            "permit.issued", python_permit(permit_number=f"26NA{i:06d}"), message_id=f"ev-{i}"
        )
    env = serve_env(
        tmp_path,
        amqp_url,
        CONNECTOR_AMQP_PREFETCH="20",
        CONNECTOR_AMQP_DELIVERY_LIMIT="5",
        CONNECTOR_AMQP_RECONNECT_MAX_SECONDS="1",
    )
    log_path = tmp_path / "serve.log"
    try:
        for crash in range(CRASHES):
            seen = log_path.read_bytes().count(CONNECTED) if log_path.exists() else 0
            serve = start_serve(env, log_path)
            try:
                deadline = time.monotonic() + 30
                while log_path.read_bytes().count(CONNECTED) <= seen:  # poll fast: kill early
                    assert time.monotonic() < deadline, f"no connection {crash + 1}"
                    time.sleep(0.002)
                serve.send_signal(signal.SIGKILL)
            finally:
                serve.wait(10)
        at_last_crash = applied(app)
        assert at_last_crash < EVENTS  # the kills came early: most events were in flight

        serve = start_serve(env, log_path)
        try:
            wait_for(lambda: applied(app) == EVENTS, 60, "every permit applied")
            time.sleep(1)  # anything about to be dead-lettered would be by now
        finally:
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(30) == 0
        assert broker.depth(topology.DEAD_LETTER_QUEUE) == 0
        assert broker.depth(topology.PERMITS_QUEUE) == 0
        with app.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(t.permits)).scalar() == EVENTS
            assert c.execute(select(func.count()).select_from(t.delivery_attempts)).scalar() == 0
        print(f"\n{at_last_crash} of {EVENTS} applied before the last of {CRASHES} kills")
    finally:
        broker.close()
        app.close()
