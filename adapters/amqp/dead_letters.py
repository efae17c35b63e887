"""Dead letters: the copy the consumer files for a message it cannot use, and the operator's
tool to read what ``cites-connector.dead-letters`` holds (``dlq list``; replay: dlq_replay.py).

A refused message is copied to ``cites.dlx`` with its routing key, body and properties plus
``x-rejection-reason`` and ``x-original-exchange`` (contract 3.1), with publisher confirms,
and only then acknowledged: the consumer never "logs and acks". Messages RabbitMQ itself
dead-lettered (over the delivery limit) carry ``x-death`` instead; both are shown and replayed.

``x-rejection-reason`` is exactly the contract's code where there is one
(``UNTRUSTED_PUBLISHER``, ``PERMIT_CANCELLED_FINAL``, ``IMPLAUSIBLE_VERSION``,
``MESSAGE_ID_CONFLICT``, and the connector's own ``PROCESSING_FAILED`` /
``PROCESSING_INTERRUPTED``), with the explanation in ``x-rejection-detail``; otherwise it is
the validation's message, naming the field. ``x-original-user-id`` keeps the ``user_id`` the
broker had checked (the copy cannot carry it: it is published by the connector's own user).

Reading is done with ``basic.get`` without acknowledging: closing the channel gives every
message back, so ``dlq list`` loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic

from cites_connector.adapters.amqp.connection import (
    CONNECTION_ERRORS,
    close_quietly,
    connect,
    describe,
    why_unreachable,
)
from cites_connector.adapters.amqp.permit_messages import IncomingMessage, message_key
from cites_connector.adapters.amqp.topology import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    PERMITS_QUEUE,
    declare_dead_letters,
)
from cites_connector.domain.errors import Unavailable

REASON, ORIGINAL_EXCHANGE = "x-rejection-reason", "x-original-exchange"
REJECTED_AT, ORIGINAL_QUEUE = "x-rejected-at", "x-original-queue"
DETAIL, ORIGINAL_USER = "x-rejection-detail", "x-original-user-id"
MAX_REASON = 2000
#: headers the broker or the rejection added; a replayed message goes out without them
ADDED_HEADERS = frozenset(
    {
        REASON,
        DETAIL,
        ORIGINAL_USER,
        ORIGINAL_EXCHANGE,
        REJECTED_AT,
        ORIGINAL_QUEUE,
        "x-death",
        "x-delivery-count",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def rejection_properties(
    properties: pika.BasicProperties, reason: str, exchange: str, detail: str | None = None
) -> pika.BasicProperties:
    """The original properties plus the rejection headers. Persistent whatever the original
    said, without ``expiration`` (a dead letter must wait for an operator) and ``user_id``
    (RabbitMQ checks it against the publishing connection's user: it is kept as the header
    ``x-original-user-id``)."""
    headers = {k: v for k, v in (properties.headers or {}).items() if k not in ADDED_HEADERS}
    headers |= {
        REASON: _bounded(reason),
        ORIGINAL_EXCHANGE: exchange,
        ORIGINAL_QUEUE: PERMITS_QUEUE,
        REJECTED_AT: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if detail:
        headers[DETAIL] = _bounded(detail)
    if properties.user_id:
        headers[ORIGINAL_USER] = properties.user_id
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        app_id=properties.app_id,
    )


def file_rejection(
    channel: BlockingChannel,
    routing_key: str,
    exchange: str,
    properties: pika.BasicProperties,
    body: bytes,
    reason: str,
    detail: str | None = None,
) -> None:
    """Publish the rejected copy on a channel in confirm mode; returns once confirmed.

    Raises ``pika.exceptions.UnroutableError`` when nothing is bound to ``cites.dlx``."""
    channel.basic_publish(
        DEAD_LETTER_EXCHANGE,
        routing_key,
        body,
        rejection_properties(properties, reason, exchange, detail),
        mandatory=True,
    )


def dead_letter_depth(channel: BlockingChannel) -> int:
    """Messages waiting in ``cites-connector.dead-letters`` (a passive declare: it needs no
    permission and changes nothing)."""
    depth: int = channel.queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count
    return depth


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    id_given: bool
    routing_key: str
    original_exchange: str
    reason: str
    rejected_at: str | None
    content_type: str | None
    size: int
    preview: str
    #: the rejection's explanation when the reason is a code
    detail: str | None = None
    #: who published the original message (the user_id RabbitMQ had checked), if known
    publisher: str | None = None

    @property
    def explained(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _read(method: Basic.GetOk, properties: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = dict(properties.headers or {})
    death = _death(headers)
    if REASON in headers:
        reason = _text(headers[REASON])
    elif death:
        reason = (
            f"dead-lettered by RabbitMQ: {_text(death.get('reason'))} "
            f"(queue {_text(death.get('queue'))}, count {death.get('count')})"
        )
    else:
        reason = "no reason recorded"
    exchange = _text(headers.get(ORIGINAL_EXCHANGE, death.get("exchange", "")))
    rejected = headers.get(REJECTED_AT) or death.get("time")
    if isinstance(rejected, datetime):
        rejected = rejected.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    message_id, given = message_key(
        IncomingMessage(
            method.routing_key, body, properties.content_type, headers, properties.message_id
        )
    )
    publisher = headers.get(ORIGINAL_USER) or properties.user_id
    return DeadLetter(
        message_id,
        given,
        method.routing_key,
        exchange,
        reason,
        None if rejected is None else _text(rejected),
        properties.content_type,
        len(body),
        body[:200].decode("utf-8", "replace"),
        _text(headers[DETAIL]) if DETAIL in headers else None,
        None if publisher is None else _text(publisher),
    )


def read_dead_letter(
    method: Basic.GetOk, properties: pika.BasicProperties, body: bytes
) -> DeadLetter:
    return _read(method, properties, body)


def open_dead_letters(url: str) -> tuple[BlockingConnection, BlockingChannel]:
    try:
        connection = connect(url, name="dlq")
        channel = connection.channel()
        declare_dead_letters(channel)
        return connection, channel
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise Unavailable(f"RabbitMQ refused the topology: {exc.reply_text}") from exc
    except CONNECTION_ERRORS as exc:
        raise Unavailable(
            f"RabbitMQ at {describe(url)} is not reachable: {why_unreachable(url, exc)}"
        ) from exc


def list_dead_letters(url: str, limit: int = 50) -> tuple[list[DeadLetter], int]:
    """Up to ``limit`` dead letters, oldest first, and how many the queue holds; all of them
    stay in the queue (read unacknowledged, given back when the channel closes)."""
    connection, channel = open_dead_letters(url)
    try:
        total = channel.queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count
        found: list[DeadLetter] = []
        last_tag = None
        while len(found) < limit:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            found.append(_read(method, properties, body))
            last_tag = method.delivery_tag
        if last_tag is not None:  # give them all back now, not only when the channel closes
            channel.basic_nack(last_tag, multiple=True, requeue=True)
        return found, total
    except CONNECTION_ERRORS as exc:
        raise Unavailable(f"RabbitMQ connection lost while reading dead letters: {exc}") from exc
    finally:
        close_quietly(connection)
