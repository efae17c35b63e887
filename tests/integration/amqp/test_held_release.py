"""The loop closed end to end: a declaration held for a missing permit clears by itself when
the permit system publishes the permit, and the permit system, the broker and customs are told
(contract 3.2, 3.4, 4, 5)."""

from __future__ import annotations

import json

import pytest

from cites_connector.adapters.amqp import topology
from cites_connector.domain.decisions import DeclarationDecision, ReasonCode
from cites_connector.domain.usages import DeclarationState
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    consumer_running,
    make_app,
    relay_running,
    sample_permits,
    wait_for,
)
from tests.integration.kit import export, python_item

pytestmark = pytest.mark.rabbitmq


def test_a_held_declaration_is_released_when_its_permit_is_published(
    tmp_path, amqp_url, customs_simulator
):
    simulator, customs_url = customs_simulator
    app = make_app(
        tmp_path,
        amqp_url,
        customs_url=customs_url,
        customs_allow_http=True,
        customs_user="connector",
        customs_password="s3cret-callback",
    )
    broker = TestBroker(amqp_url)
    usage = broker.capture(topology.USAGE_EXCHANGE, "usage.*")
    notices = broker.capture(topology.NOTIFICATIONS_EXCHANGE, "broker.BRK-0917")
    try:
        held = app.clearance.clear("WDHA-E-1042", 1, export(python_item(1, 40, "26NA000123")))
        assert held.decision.decision is DeclarationDecision.HELD
        assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in held.decision.items[0].reasons}

        with relay_running(app), consumer_running(app):
            broker.publish("permit.issued", sample_permits()[0], message_id="ps-123-v1")
            [(method, properties, body)] = broker.collect(usage, 1)
            calls = wait_for(simulator.recorder.calls, what="the customs callback")
            messages = broker.collect(notices, 2)

        assert app.clearance.stored("WDHA-E-1042").state is DeclarationState.CLEARED
        recorded = json.loads(body)
        assert method.routing_key == "usage.recorded"
        assert (recorded["declaration_id"], recorded["quantity"], recorded["permit_used_up"]) == (
            "WDHA-E-1042",
            "40",
            True,
        )
        assert properties.message_id == recorded["usage_id"]

        decided, released = (json.loads(b) for _, _, b in messages)
        assert (decided["event"], decided["decision"]) == ("decided", "HELD")
        assert (released["event"], released["decision"]) == ("released", "CLEARED")
        assert "26NA000123" in released["html"] and released["text"]

        [call] = calls
        assert (call.declaration_id, call.version, call.decision) == ("WDHA-E-1042", 1, "CLEARED")
        assert call.items[0]["permit_number"] == "26NA000123" and not call.duplicate
    finally:
        broker.close()
        app.close()
