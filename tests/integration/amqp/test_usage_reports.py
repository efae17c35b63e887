"""Usage reports (electronic endorsement, contract 3.2) and broker notifications (3.4) as the
outbox relay publishes them to a real RabbitMQ, with publisher confirms."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.sql import tables as t
from cites_connector.domain.permits import ConsignmentPolicy
from tests.integration.amqp.amqp_kit import TestBroker, make_app, relay_running, wait_for
from tests.integration.kit import export, permit, python_item, pythons

pytestmark = pytest.mark.rabbitmq

USAGE_FIELDS = {
    "usage_id",
    "permit_number",
    "issuing_country",
    "line",
    "declaration_id",
    "declaration_version",
    "item_number",
    "quantity",
    "unit",
    "remaining_after",
    "permit_used_up",
    "office_code",
    "recorded_at",
    # contract 3.2 (v2): the electronic endorsement (tests/integration/amqp/test_usage_endorsement)
    "endorsed_by",
    "port",
    "exit_date",
    "declared_quantity",
    "declared_unit",
}


@pytest.fixture
def world(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url)
    app.permits.apply(
        permit("26NA000200", pythons(40), pythons(10, "B"), policy=ConsignmentPolicy.MULTIPLE)
    )
    broker = TestBroker(amqp_url)
    yield app, broker
    broker.close()
    app.close()


def decoded(messages) -> list[tuple[str, str, dict, object]]:
    return [(m.routing_key, p.message_id, json.loads(b), p) for m, p, b in messages]


def outbox_rows(app) -> list[dict]:
    with app.engine.connect() as c:
        return [dict(r) for r in c.execute(select(t.outbox).order_by(t.outbox.c.id)).mappings()]


def test_one_usage_recorded_per_write_off_with_the_contract_fields_and_message_ids(world):
    app, broker = world
    usage = broker.capture(topology.USAGE_EXCHANGE)
    with relay_running(app):
        outcome = app.clearance.clear(
            "WDHA-E-1", 1, export(python_item(1, 12, "26NA000200"), python_item(2, 3, "26NA000200"))
        )
        assert outcome.decision.cleared
        got = decoded(broker.collect(usage, 2))
        # each row is marked sent in its own transaction once the broker confirms it, which
        # may be a moment after a consumer already has the message
        wait_for(lambda: all(r["sent_at"] for r in outbox_rows(app)), 15, "every row sent")

    assert [
        (key, body["item_number"], body["quantity"], body["remaining_after"])
        for key, _, body, _ in got
    ] == [("usage.recorded", 1, "12", "28"), ("usage.recorded", 2, "3", "25")]
    for _, message_id, body, properties in got:
        assert set(body) == USAGE_FIELDS
        assert message_id == body["usage_id"]
        assert (body["permit_number"], body["issuing_country"], body["line"]) == (
            "26NA000200",
            "NA",
            "A",
        )
        assert (body["declaration_id"], body["declaration_version"]) == ("WDHA-E-1", 1)
        assert body["unit"] is None and body["permit_used_up"] is False
        assert body["office_code"] == "WDHA" and body["recorded_at"].endswith("Z")
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
    assert all(r["sent_at"] is not None for r in outbox_rows(app))


def test_cancellation_and_amendment_publish_usage_reversed(world):
    app, broker = world
    usage = broker.capture(topology.USAGE_EXCHANGE)
    with relay_running(app):
        app.clearance.clear("WDHA-E-2", 1, export(python_item(1, 10, "26NA000200")))
        [(_, first_id, first, _)] = decoded(broker.collect(usage, 1))
        app.clearance.clear("WDHA-E-2", 2, export(python_item(1, 4, "26NA000200")))
        amended = decoded(broker.collect(usage, 2))
        app.clearance.cancel("WDHA-E-2", "goods not shipped")
        cancelled = decoded(broker.collect(usage, 1))

    (k1, id1, reversed_v1, _), (k2, id2, recorded_v2, _) = amended
    assert (k1, id1) == ("usage.reversed", f"{first_id}:reversed")
    assert reversed_v1["usage_id"] == first["usage_id"] and reversed_v1["quantity"] == "10"
    assert reversed_v1["remaining_after"] == "40"
    assert (k2, id2, recorded_v2["declaration_version"], recorded_v2["quantity"]) == (
        "usage.recorded",
        recorded_v2["usage_id"],
        2,
        "4",
    )
    [(k3, id3, reversed_v2, _)] = cancelled
    assert (k3, id3, reversed_v2["remaining_after"]) == (
        "usage.reversed",
        f"{recorded_v2['usage_id']}:reversed",
        "40",
    )


def test_broker_notification_carries_the_result_with_text_and_html(world):
    app, broker = world
    brokers = broker.capture(topology.NOTIFICATIONS_EXCHANGE, "broker.BRK-0917")
    with relay_running(app):
        app.clearance.clear("WDHA-E-3", 1, export(python_item(1, 5, "26NA000200")))
        [(key, message_id, body, _)] = decoded(broker.collect(brokers, 1))

    assert key == "broker.BRK-0917"
    assert (body["declaration_id"], body["version"], body["decision"]) == ("WDHA-E-3", 1, "CLEARED")
    assert body["items"][0]["permit_number"] == "26NA000200"
    assert "WDHA-E-3" in body["text"] and "CLEARED" in body["text"]
    assert "<table" in body["html"] and "26NA000200" in body["html"]
    assert message_id == outbox_rows(app)[-1]["message_id"]


def test_an_unroutable_usage_report_waits_in_the_outbox_until_a_queue_is_bound(world):
    app, broker = world
    fast = Backoff(initial=0.2, maximum=0.5, jitter=0.0)
    with relay_running(app, backoff=fast):
        app.clearance.clear("WDHA-E-4", 1, export(python_item(1, 5, "26NA000200")))
        rows = wait_for(
            lambda: [
                r
                for r in outbox_rows(app)
                if r["routing_key"] == "usage.recorded" and r["attempts"] >= 2
            ],
            what="failed attempts",
        )
        assert rows[0]["sent_at"] is None and "no queue is bound" in rows[0]["last_error"]
        # the broker notification had nobody listening either, but is not kept
        assert all(
            r["sent_at"] is not None
            for r in outbox_rows(app)
            if r["destination"] == topology.NOTIFICATIONS_EXCHANGE
        )
        usage = broker.capture(topology.USAGE_EXCHANGE)
        [(_, message_id, _, _)] = decoded(broker.collect(usage, 1))
        wait_for(lambda: all(r["sent_at"] for r in outbox_rows(app)), 15, "every row sent")

    assert message_id == rows[0]["message_id"]
    assert all(r["sent_at"] is not None for r in outbox_rows(app))
