"""Permit lookup by request/reply (contract 3.3) against a small fake permit system: a pika
responder thread on ``cites.rpc`` ``permit.lookup``."""

from __future__ import annotations

import json
import threading
import time

import pika
import pytest

from adapters.amqp import topology
from adapters.amqp.workers import wire_permit_lookup
from connector.domain.decisions import DeclarationDecision, ReasonCode
from tests.integration.amqp.amqp_kit import (
    EPERMITS, make_app, sample_permits, stored_permit,
)
from tests.integration.kit import export, python_item

pytestmark = pytest.mark.rabbitmq


class FakePermitSystem:
    """Answers lookups from ``answers`` (number -> (content_type, headers, body)); a number
    it does not know gets ``{"found": false}``; ``silent`` answers nothing."""

    def __init__(self, url: str, answers: dict, silent: bool = False):
        self.url, self.answers, self.silent = url, answers, silent
        self.requests: list[dict] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        topology.declare_exchanges(channel)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, topology.RPC_EXCHANGE, topology.LOOKUP_ROUTING_KEY)
        self._ready.set()
        for method, properties, body in channel.consume(queue, inactivity_timeout=0.1):
            if self._stop.is_set():
                break
            if method is None:
                continue
            request = json.loads(body)
            self.requests.append(request | {"correlation_id": properties.correlation_id})
            channel.basic_ack(method.delivery_tag)
            if self.silent:
                continue
            content_type, headers, reply = self.answers.get(
                request["permit_number"], ("application/json", None, b'{"found": false}'))
            channel.basic_publish("", properties.reply_to, reply, pika.BasicProperties(
                correlation_id=properties.correlation_id, content_type=content_type,
                headers=headers))
        connection.close()


def declaration(number: str, count: int = 10):
    return export(python_item(1, count, number))


@pytest.fixture
def app(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url, lookup_timeout=1.0)
    wire_permit_lookup(app)
    yield app
    app.close()


def test_a_permit_found_by_lookup_is_stored_and_the_declaration_decided_on_it(app, amqp_url):
    python = json.dumps(sample_permits()[0]).encode()
    with FakePermitSystem(amqp_url, {"26NA000123": ("application/json", None, python)}) as ps:
        outcome = app.clearance.clear("D-LOOKUP-1", 1, declaration("26NA000123"))

    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert ps.requests[0]["permit_number"] == "26NA000123"
    assert ps.requests[0]["issuing_country"] == "NA" and ps.requests[0]["correlation_id"]
    assert stored_permit(app, "26NA000123").lines[0].remaining == 30


def test_an_epermit_xml_reply_is_read_with_its_version_header(app, amqp_url):
    xml = (EPERMITS / "26NA000123-python-regius-export-v2.xml").read_bytes()
    answers = {"26NA000123": ("application/xml", {"permit-version": 1}, xml)}
    with FakePermitSystem(amqp_url, answers):
        outcome = app.clearance.clear("D-LOOKUP-2", 1, declaration("26NA000123"))
    assert outcome.decision.decision is DeclarationDecision.CLEARED


def test_found_false_gives_permit_unknown(app, amqp_url):
    with FakePermitSystem(amqp_url, {}) as ps:
        outcome = app.clearance.clear("D-LOOKUP-3", 1, declaration("26NA999999"))
    assert ps.requests and outcome.decision.decision is DeclarationDecision.HELD
    assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}
    assert stored_permit(app, "26NA999999") is None


def test_no_reply_within_the_timeout_gives_permit_unknown(app, amqp_url):
    with FakePermitSystem(amqp_url, {}, silent=True) as ps:
        started = time.monotonic()
        outcome = app.clearance.clear("D-LOOKUP-4", 1, declaration("26NA000123"))
        waited = time.monotonic() - started
    assert ps.requests and 1.0 <= waited < 4.0
    assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}


@pytest.mark.parametrize("exchanges", [True, False], ids=["unbound", "no-exchange"])
def test_with_no_permit_system_listening_the_lookup_does_not_wait_for_the_timeout(
        app, amqp_url, exchanges):
    if exchanges:  # as the running connector declares them
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        topology.declare_exchanges(connection.channel())
        connection.close()
    started = time.monotonic()
    outcome = app.clearance.clear("D-LOOKUP-5", 1, declaration("26NA000123"))
    assert time.monotonic() - started < 0.9  # returned unroutable, or refused, at once
    assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}


def test_an_unreachable_broker_gives_permit_unknown(tmp_path):
    app = make_app(tmp_path, "amqp://guest:guest@127.0.0.1:1/%2F", lookup_timeout=1.0)
    wire_permit_lookup(app)
    try:
        outcome = app.clearance.clear("D-LOOKUP-6", 1, declaration("26NA000123"))
        assert ReasonCode.PERMIT_UNKNOWN in {r.code for r in outcome.decision.items[0].reasons}
    finally:
        app.close()
