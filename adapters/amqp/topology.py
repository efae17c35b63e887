"""The exchanges, queues and bindings of contract section 3, as data.

The connector declares them at start (declaring is idempotent), and the same data renders
``config/rabbitmq-definitions.json`` (with the users, ``definitions.py``) for the quick start,
the tests and operators who pre-provision the broker with ``rabbitmqctl import_definitions``:
one source, so the file and the code cannot drift (a test compares them).

- All exchanges are durable topics, except ``cites.rpc`` (direct, for request/reply).
- ``cites-connector.permits`` is a quorum queue with a delivery limit, dead-lettering to
  ``cites.dlx`` at least once (``x-dead-letter-strategy``; ``reject-publish`` overflow is what
  that strategy requires and changes nothing while the queue has no length limit). Its
  ``x-delivery-limit`` is a backstop (``CONNECTOR_AMQP_BROKER_DELIVERY_LIMIT``, default 1000):
  RabbitMQ 3.10 counts every return of a message, including each prefetched message of a
  connection that closed, so a limit of 5 with a prefetch of 20 let five crashes dead-letter
  twenty valid permits. The contract's delivery limit (``CONNECTOR_AMQP_DELIVERY_LIMIT``,
  default 5) is counted by the connector for the message it actually processes
  (``permit_handler.py``).
- ``cites-connector.dead-letters`` is a quorum queue bound to ``cites.dlx`` with ``#``. It has
  no delivery limit and no dead-letter exchange of its own: its dead-letter exchange would be
  ``cites.dlx``, which routes back into it, and a limit would make ``dlq list`` (which reads
  messages and gives them back) eventually drop what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from cites_connector.mappings.amqp_names import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    LOOKUP_ROUTING_KEY,
    NOTIFICATIONS_EXCHANGE,
    PERMITS_EXCHANGE,
    PERMITS_QUEUE,
    RPC_EXCHANGE,
    USAGE_EXCHANGE,
)

__all__ = [
    "BACKSTOP_DELIVERY_LIMIT",
    "DEAD_LETTER_EXCHANGE",
    "DEAD_LETTER_QUEUE",
    "LOOKUP_ROUTING_KEY",
    "NOTIFICATIONS_EXCHANGE",
    "PERMITS_EXCHANGE",
    "PERMITS_QUEUE",
    "RPC_EXCHANGE",
    "USAGE_EXCHANGE",
]

#: x-delivery-limit of cites-connector.permits (see above)
BACKSTOP_DELIVERY_LIMIT = 1000


@dataclass(frozen=True)
class Exchange:
    name: str
    type: str = "topic"


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    exchange: str
    queue: str
    routing_key: str


EXCHANGES = (
    Exchange(PERMITS_EXCHANGE),
    Exchange(USAGE_EXCHANGE),
    Exchange(NOTIFICATIONS_EXCHANGE),
    Exchange(RPC_EXCHANGE, "direct"),
    Exchange(DEAD_LETTER_EXCHANGE),
)
BINDINGS = (
    Binding(PERMITS_EXCHANGE, PERMITS_QUEUE, "permit.#"),
    Binding(DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, "#"),
)


def queues(delivery_limit: int = BACKSTOP_DELIVERY_LIMIT) -> tuple[Queue, ...]:
    return (
        Queue(
            PERMITS_QUEUE,
            {
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-delivery-limit": delivery_limit,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        ),
        Queue(DEAD_LETTER_QUEUE, {"x-queue-type": "quorum"}),
    )


def declare_exchanges(channel: BlockingChannel) -> None:
    for exchange in EXCHANGES:
        channel.exchange_declare(exchange.name, exchange.type, durable=True)


def declare(channel: BlockingChannel, delivery_limit: int = BACKSTOP_DELIVERY_LIMIT) -> None:
    """Declare everything the connector uses. A queue that exists with other arguments (an
    operator provisioned another delivery limit) makes RabbitMQ close the channel with
    PRECONDITION_FAILED, naming the argument: the consumer logs it and retries."""
    declare_exchanges(channel)
    for queue in queues(delivery_limit):
        channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
    for binding in BINDINGS:
        channel.queue_bind(binding.queue, binding.exchange, binding.routing_key)


def definitions(delivery_limit: int = BACKSTOP_DELIVERY_LIMIT, vhost: str = "/") -> dict[str, Any]:
    """The topology in RabbitMQ's definitions format (``rabbitmqctl import_definitions``)."""
    return {
        "exchanges": [
            {
                "name": e.name,
                "vhost": vhost,
                "type": e.type,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for e in EXCHANGES
        ],
        "queues": [
            {
                "name": q.name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": dict(q.arguments),
            }
            for q in queues(delivery_limit)
        ],
        "bindings": [
            {
                "source": b.exchange,
                "vhost": vhost,
                "destination": b.queue,
                "destination_type": "queue",
                "routing_key": b.routing_key,
                "arguments": {},
            }
            for b in BINDINGS
        ],
    }


def declare_dead_letters(channel: BlockingChannel) -> None:
    """Only ``cites.dlx`` and its queue: what the DLQ tools need, whatever delivery limit the
    permits queue was declared with."""
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, "topic", durable=True)
    queue = queues()[1]
    channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
    channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, "#")
