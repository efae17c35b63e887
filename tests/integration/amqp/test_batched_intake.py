"""Permit events waiting together are applied in one transaction and acked together (issue 14);
a bad event among them is dead-lettered alone and the others are applied, over a real broker."""

from __future__ import annotations

import copy
import logging

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from cites_connector.adapters.amqp import consumer_loop, topology
from cites_connector.adapters.amqp.dead_letters import list_dead_letters
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.sql import tables as t
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    consumer_running,
    make_app,
    sample_permits,
    wait_for,
)

pytestmark = pytest.mark.rabbitmq


def rows(app, table) -> int:
    with app.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar()


def test_waiting_events_are_applied_together_and_a_poison_among_them_alone(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url, amqp_prefetch=20)
    broker = TestBroker(amqp_url)
    try:
        template = sample_permits()[0]
        for i in range(12):
            body = copy.deepcopy(template)
            body["permit_number"] = f"26NA{i:06d}"
            if i == 5:  # a python from source A: refused by the ledger, the batch split
                body["lines"][0]["source"] = "A"
            broker.publish("permit.issued", body, message_id=f"batch-{i}")
        wait_for(lambda: broker.depth(topology.PERMITS_QUEUE) == 12, what="the queue filled")

        with consumer_running(app):
            wait_for(lambda: rows(app, t.inbox) == 11, what="the eleven good events")
            letters = wait_for(
                lambda: (found := list_dead_letters(amqp_url, 20)[0]) and found,
                what="the dead letter",
            )
            # everything acked: nothing comes back to the queue
            wait_for(lambda: broker.depth(topology.PERMITS_QUEUE) == 0, what="the queue empty")

        assert [d.message_id for d in letters] == ["batch-5"]
        assert "source A" in letters[0].reason
        assert rows(app, t.permits) == 11
        assert rows(app, t.inbox) == 11
        assert broker.depth(topology.PERMITS_QUEUE) == 0  # acked, not given back at the stop
    finally:
        broker.close()
        app.close()


def _applied(metrics) -> float:
    value = metrics.registry.get_sample_value(
        "cites_connector_permit_events_total", {"event": "issued", "outcome": "applied"}
    )
    return value or 0.0


def test_a_batch_is_counted_per_event_and_logged_once_unless_debug(tmp_path, amqp_url):
    """A batch acked together counts each of its events in /metrics and logs one line at INFO;
    each event's own line only when DEBUG is on (issue 14)."""
    app = make_app(tmp_path, amqp_url, amqp_prefetch=20)
    broker = TestBroker(amqp_url)
    metrics = ConnectorMetrics("test")
    loop_log = logging.getLogger(consumer_loop.__name__)
    level = loop_log.level
    template = sample_permits()[0]

    def publish(first: int, count: int) -> None:
        for i in range(first, first + count):
            body = copy.deepcopy(template)
            body["permit_number"] = f"26NA{i:06d}"
            broker.publish("permit.issued", body, message_id=f"counted-{i}")
        wait_for(lambda: broker.depth(topology.PERMITS_QUEUE) == count, what="the queue filled")

    def consume(counted: int) -> list[dict]:
        """Run the consumer until ``counted`` events in all are counted and the queue is empty;
        the log lines it wrote."""
        with capture_logs() as logs, consumer_running(app, metrics=metrics):
            wait_for(lambda: _applied(metrics) == counted, what=f"{counted} events counted")
            wait_for(lambda: broker.depth(topology.PERMITS_QUEUE) == 0, what="the queue empty")
        return logs

    try:
        loop_log.setLevel(logging.INFO)
        publish(0, 12)
        logs = consume(12)
        batches = [e for e in logs if e["event"] == "permit.batch_consumed"]
        assert (
            sum(e["events"] for e in batches)
            + sum(
                1
                for e in logs
                if e["event"] == "permit.event_consumed" and e["log_level"] == "info"
            )
            == 12
        )
        assert not [e for e in logs if e["log_level"] == "debug"]
        assert rows(app, t.inbox) == 12

        loop_log.setLevel(logging.DEBUG)
        publish(12, 5)
        logs = consume(17)
        each = [e for e in logs if e["event"] == "permit.event_consumed"]
        assert sorted(e["permit_number"] for e in each) == [f"26NA{i:06d}" for i in range(12, 17)]
        assert all(e["applied"] and not e["duplicate"] for e in each)
    finally:
        loop_log.setLevel(level)
        broker.close()
        app.close()
