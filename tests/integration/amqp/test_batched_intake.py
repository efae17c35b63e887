"""Permit events waiting together are applied in one transaction and acked together (issue 14);
a bad event among them is dead-lettered alone and the others are applied, over a real broker."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.amqp.dead_letters import list_dead_letters
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
