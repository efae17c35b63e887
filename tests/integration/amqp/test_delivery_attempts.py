"""Who counts deliveries (issue 9, item 7).

RabbitMQ 3.10 (Debian's ``rabbitmq-server``) counts every return of a quorum-queue message
toward ``x-delivery-limit``, also the prefetched messages of a connection that closed without
ever handing them to the application; the first test shows it on the real broker. So the
contract's delivery limit (``CONNECTOR_AMQP_DELIVERY_LIMIT``, default 5) is counted by the
connector itself, for the message it actually processes, written before processing; the
broker's limit is only a generous backstop (default 1000). The other tests show the
connector's own count at work: a message that always fails is dead-lettered
``PROCESSING_FAILED`` after five attempts, one that the process died on twenty times
``PROCESSING_INTERRUPTED``, and the messages behind them are applied.
"""

from __future__ import annotations

import re
from typing import ClassVar

import pika
import pytest
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
from cites_connector.adapters.amqp.permit_messages import IncomingMessage, message_key
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.migrate import upgrade
from tests.integration.amqp.amqp_kit import TestBroker, running, sample_permits, wait_for
from tests.integration.kit import services
from tests.memory_ledger import MemoryLedger, MemoryPermits

pytestmark = pytest.mark.rabbitmq
BOOM = "26NA000666"


def test_rabbitmq_counts_the_prefetched_messages_of_a_closed_connection(rabbit_node):
    """Three messages, never acknowledged, prefetched by three connections that close: with
    x-delivery-limit 2 all three are dead-lettered, though no application ever saw them."""
    version = rabbit_node.ctl("version").strip()
    if int(version.split(".")[0]) >= 4:
        pytest.skip(f"RabbitMQ {version}: this documents the 3.x behaviour")
    url = rabbit_node.url_for(rabbit_node.new_vhost(provisioned=False))
    admin = pika.BlockingConnection(pika.URLParameters(url)).channel()
    admin.exchange_declare("dlx", "fanout")
    admin.queue_declare("dead", durable=True)
    admin.queue_bind("dead", "dlx")
    admin.queue_declare(
        "q",
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": 2,
            "x-dead-letter-exchange": "dlx",
        },
    )
    for n in range(3):
        admin.basic_publish("", "q", f"m{n}".encode())

    def take_all_then_crash() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.basic_qos(prefetch_count=20)
        delivered = []
        channel.basic_consume("q", lambda *args: delivered.append(args[1].delivery_tag))
        wait_for(
            lambda: connection.process_data_events(0.05) or len(delivered) == 3, 10, "the prefetch"
        )
        connection.close()  # as a crash would: nothing acknowledged, nothing rejected

    for _ in range(3):
        take_all_then_crash()
    wait_for(
        lambda: admin.queue_declare("dead", passive=True).method.message_count == 3,
        10,
        "all three dead-lettered by RabbitMQ",
    )
    assert admin.queue_declare("q", passive=True).method.message_count == 0
    admin.connection.close()


class _ExplodingPermits(MemoryPermits):
    calls: ClassVar[list[list[str]]] = []

    def lock(self, permit_numbers) -> None:
        numbers = list(permit_numbers)
        _ExplodingPermits.calls.append(numbers)
        if BOOM in numbers:
            raise RuntimeError("disk on fire")


class ExplodingLedger(MemoryLedger):
    """The ledger port with a fault: a transaction touching permit 26NA000666 raises an
    error that is neither an outage nor bad input (a bug, in real life)."""

    def unit_of_work(self, state):
        uow = super().unit_of_work(state)
        uow.permits = uow.balances = _ExplodingPermits(state)
        return uow


@pytest.fixture
def attempts(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'attempts.sqlite3'}")
    upgrade(engine)
    yield SqlDeliveryAttempts(engine)
    engine.dispose()


def _rows(attempts) -> int:
    with attempts.engine.connect() as c:
        return c.execute(select(func.count()).select_from(t.delivery_attempts)).scalar()


def _consumer(permits, amqp_url, attempts):
    return PermitConsumer(
        permits,
        amqp_url,
        attempts,
        delivery_limit=5,
        reconnect=Backoff(initial=0.1, maximum=0.5, jitter=0.1),
    )


def _dead(broker: TestBroker, count: int) -> dict:
    letters = broker.collect(topology.DEAD_LETTER_QUEUE, count, 30)
    return {p.message_id: p.headers for _, p, _ in letters}


def test_a_message_that_always_fails_is_dead_lettered_after_five_attempts(amqp_url, attempts):
    ledger = ExplodingLedger()
    _, permits = services(ledger)
    broker = TestBroker(amqp_url)
    _ExplodingPermits.calls = []
    boom = dict(sample_permits()[0], permit_number=BOOM)
    try:
        broker.publish("permit.issued", boom, message_id="boom")
        broker.publish("permit.issued", sample_permits()[0], message_id="fine")
        with running(_consumer(permits, amqp_url, attempts)):
            [headers] = _dead(broker, 1).values()
            wait_for(lambda: ledger.state.permits, 10, "the next permit")
        assert headers["x-rejection-reason"] == "PROCESSING_FAILED"
        assert headers["x-rejection-detail"].startswith("processing failed 5 times")
        assert headers["x-rejection-detail"].endswith("RuntimeError: disk on fire")
        # five attempts of its own, not one more; delivered first together with "fine", it was
        # also tried in their batch, which was rolled back and is not an attempt (issue 14)
        assert _ExplodingPermits.calls.count([BOOM]) == 5
        assert sum(BOOM in numbers for numbers in _ExplodingPermits.calls) <= 6
        assert list(ledger.state.permits) == [("26NA000123", "NA")]
        assert _rows(attempts) == 0  # its count is gone with it
    finally:
        broker.close()


def test_a_message_the_process_died_on_twenty_times_is_dead_lettered(amqp_url, attempts):
    """Twenty starts recorded, none finished: the process died with the message in hand each
    time. A message with three such deaths (a crash loop that is not its fault) is applied."""
    ledger = ExplodingLedger()
    _, permits = services(ledger)
    broker = TestBroker(amqp_url)
    killer = dict(sample_permits()[0], permit_number="26NA000777")
    unlucky = sample_permits()[0]
    try:
        for message_id, body, deaths in (("killer", killer, 20), ("unlucky", unlucky, 3)):
            broker.publish("permit.issued", body, message_id=message_id)
            key, _ = message_key(IncomingMessage("permit.issued", b"", message_id=message_id))
            for _ in range(deaths):
                attempts.begin(key)
        for _ in range(2):  # delivered once to nobody: both come back marked redelivered
            method = wait_for(
                lambda: broker.channel.basic_get(topology.PERMITS_QUEUE)[0], what="a delivery"
            )
        broker.channel.basic_nack(method.delivery_tag, multiple=True, requeue=True)
        with running(_consumer(permits, amqp_url, attempts)):
            dead = _dead(broker, 1)
            wait_for(lambda: ledger.state.permits, 10, "the unlucky permit")
        assert dead["killer"]["x-rejection-reason"] == "PROCESSING_INTERRUPTED"
        assert re.match(r"the connector died 20 times", dead["killer"]["x-rejection-detail"])
        assert list(ledger.state.permits) == [("26NA000123", "NA")]
        assert _rows(attempts) == 0
    finally:
        broker.close()
