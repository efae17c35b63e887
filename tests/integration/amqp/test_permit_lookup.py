"""Permit lookup by request/reply (contract 3.3) against a small fake permit system: a pika
responder thread on ``cites.rpc`` ``permit.lookup``."""

from __future__ import annotations

import json
import time

import pytest

from cites_connector.adapters.amqp.definitions import DEMO_PASSWORDS
from cites_connector.domain.decisions import DeclarationDecision, ReasonCode
from tests.integration.amqp.amqp_kit import (
    EPERMITS,
    make_app,
    sample_permits,
    stored_permit,
    url_as,
)
from tests.integration.amqp.fake_permit_system import FakePermitSystem
from tests.integration.kit import export, python_item

pytestmark = pytest.mark.rabbitmq


def declaration(number: str, count: int = 10):
    return export(python_item(1, count, number))


@pytest.fixture
def app(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url, lookup_timeout=1.0, ask_permit_system=True)
    yield app
    app.close()


def test_a_permit_found_by_lookup_is_stored_and_the_declaration_decided_on_it(
    app, permit_system_url
):
    python = json.dumps(sample_permits()[0]).encode()
    answers = {"26NA000123": ("application/json", None, python)}
    with FakePermitSystem(permit_system_url, answers) as ps:
        outcome = app.clearance.clear("D-LOOKUP-1", 1, declaration("26NA000123"))

    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert ps.requests[0]["permit_number"] == "26NA000123"
    assert ps.requests[0]["issuing_country"] == "NA" and ps.requests[0]["correlation_id"]
    assert stored_permit(app, "26NA000123").lines[0].remaining == 30


def test_an_epermit_xml_reply_is_read_with_its_version_header(app, permit_system_url):
    xml = (EPERMITS / "26NA000123-python-regius-export-v2.xml").read_bytes()
    answers = {"26NA000123": ("application/xml", {"permit-version": 1}, xml)}
    with FakePermitSystem(permit_system_url, answers):
        outcome = app.clearance.clear("D-LOOKUP-2", 1, declaration("26NA000123"))
    assert outcome.decision.decision is DeclarationDecision.CLEARED


def test_found_false_gives_permit_unknown(app, permit_system_url):
    with FakePermitSystem(permit_system_url, {}) as ps:
        outcome = app.clearance.clear("D-LOOKUP-3", 1, declaration("26NA999999"))
    assert ps.requests and outcome.decision.decision is DeclarationDecision.HELD
    assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}
    assert stored_permit(app, "26NA999999") is None


def test_no_reply_within_the_timeout_gives_permit_unknown(app, permit_system_url):
    with FakePermitSystem(permit_system_url, {}, silent=True) as ps:
        started = time.monotonic()
        outcome = app.clearance.clear("D-LOOKUP-4", 1, declaration("26NA000123"))
        waited = time.monotonic() - started
    assert ps.requests and 1.0 <= waited < 4.0
    assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}


@pytest.mark.parametrize("provisioned", [True, False], ids=["unbound", "no-exchange"])
def test_with_no_permit_system_listening_the_lookup_does_not_wait_for_the_timeout(
    tmp_path, rabbit_node, provisioned
):
    """Provisioned from the definitions file: ``cites.rpc`` exists with nothing bound (the
    request comes back unroutable); a bare virtual host has no ``cites.rpc`` at all (RabbitMQ
    closes the channel)."""
    url = url_as(
        rabbit_node.url_for(rabbit_node.new_vhost(provisioned)),
        "connector",
        DEMO_PASSWORDS["connector"],
    )
    app = make_app(tmp_path, url, lookup_timeout=1.0, ask_permit_system=True)
    try:
        started = time.monotonic()
        outcome = app.clearance.clear("D-LOOKUP-5", 1, declaration("26NA000123"))
        assert time.monotonic() - started < 0.9  # returned unroutable, or refused, at once
        assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}
    finally:
        app.close()


def test_an_unreachable_broker_gives_permit_unknown(tmp_path):
    app = make_app(
        tmp_path, "amqp://guest:guest@127.0.0.1:1/%2F", lookup_timeout=1.0, ask_permit_system=True
    )
    try:
        outcome = app.clearance.clear("D-LOOKUP-6", 1, declaration("26NA000123"))
        assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}
    finally:
        app.close()


def test_a_not_found_answer_is_remembered_for_the_negative_ttl(
    tmp_path, amqp_url, permit_system_url
):
    """Contract 3.3 (v2): within CONNECTOR_LOOKUP_NEGATIVE_TTL a declaration citing the same
    unknown numbers again does not ask again; after it, it does. Counted on the requests the
    permit system saw."""
    app = make_app(
        tmp_path, amqp_url, lookup_timeout=1.0, lookup_negative_ttl=0.5, ask_permit_system=True
    )
    cited = export(python_item(1, 1, "26NA900001"), python_item(2, 1, "26NA900002"))
    try:
        with FakePermitSystem(permit_system_url, {}) as ps:
            app.clearance.clear("D-NEG-1", 1, cited)
            assert len(ps.requests) == 2
            outcome = app.clearance.clear("D-NEG-2", 1, cited)
            assert len(ps.requests) == 2  # remembered: not asked again
            assert all(
                ReasonCode.PERMIT_UNKNOWN in {r.code for r in item.reasons}
                for item in outcome.decision.items
            )
            time.sleep(0.6)
            app.clearance.clear("D-NEG-3", 1, cited)
            assert len(ps.requests) == 4  # forgotten after the TTL: asked again
    finally:
        app.close()


def test_no_answer_is_not_remembered(app, permit_system_url):
    """A permit system that did not answer in time may have been away: ask again next time."""
    with FakePermitSystem(permit_system_url, {}, silent=True) as ps:
        app.clearance.clear("D-SILENT-1", 1, declaration("26NA900003"))
        app.clearance.clear("D-SILENT-2", 1, declaration("26NA900003"))
    assert [r["permit_number"] for r in ps.requests] == ["26NA900003"] * 2
