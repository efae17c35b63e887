"""``dlq replay``: publish dead letters again to the exchange they were first sent to.

A permit event is trusted only from a permit publisher's ``user_id`` (contract 3.1 (v2)), and
RabbitMQ lets a connection set only its own user as ``user_id``. So the replay reads the dead
letters as the connector (``CONNECTOR_AMQP_URL``) and publishes them on a second connection as
the permit publisher who first sent them (``CONNECTOR_DLQ_REPLAY_URL``). A dead letter first
published by anyone else (the ``user_id`` the broker had checked, kept as
``x-original-user-id``) is not replayed: a replay must not turn a forged message into a
trusted one.

Each dead letter is acknowledged (removed) only after the broker confirmed its copy; those not
replayed go back to the queue. Replayed messages keep their message id, so one applied
meanwhile is not applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from cites_connector.adapters.amqp.connection import (
    CONNECTION_ERRORS,
    close_quietly,
    connect,
    describe,
    why_unreachable,
)
from cites_connector.adapters.amqp.dead_letters import (
    ADDED_HEADERS,
    DeadLetter,
    open_dead_letters,
    read_dead_letter,
)
from cites_connector.adapters.amqp.topology import DEAD_LETTER_QUEUE
from cites_connector.domain.errors import InvalidInput, Unavailable


@dataclass(frozen=True)
class ReplayResult:
    replayed: list[DeadLetter]
    #: not published (no original exchange, another publisher, nothing bound): still queued
    failed: list[tuple[DeadLetter, str]]


def _replay_properties(properties: pika.BasicProperties, user: str) -> pika.BasicProperties:
    headers = {k: v for k, v in (properties.headers or {}).items() if k not in ADDED_HEADERS}
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers or None,
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        app_id=properties.app_id,
        user_id=user,
    )


def publisher_of(url: str) -> str:
    user = urlsplit(url).username
    if not user:
        raise InvalidInput(
            f"{describe(url)} names no user: dlq replay publishes as the permit "
            "publisher who first sent the messages"
        )
    return unquote(user)


def _open_publisher(url: str) -> tuple[BlockingConnection, BlockingChannel]:
    try:
        connection = connect(url, name="dlq-replay")
        channel = connection.channel()
        channel.confirm_delivery()
        return connection, channel
    except CONNECTION_ERRORS as exc:
        raise Unavailable(
            f"RabbitMQ at {describe(url)} is not reachable for the replay: "
            f"{why_unreachable(url, exc)}"
        ) from exc


def replay_dead_letters(
    url: str, publisher_url: str, message_id: str | None = None
) -> ReplayResult:
    """Replay all dead letters, or those whose message id is ``message_id``, that the user of
    ``publisher_url`` first published."""
    user = publisher_of(publisher_url)
    connection, channel = open_dead_letters(url)
    out_connection = None
    replayed, failed, kept = [], [], None
    try:
        out_connection, out = _open_publisher(publisher_url)
        while True:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            kept = method.delivery_tag  # unacknowledged until the end, so not fetched again
            letter = read_dead_letter(method, properties, body)
            if message_id is not None and letter.message_id != message_id:
                continue  # left unacknowledged: back in the queue when the channel closes
            problem = _cannot_replay(letter, user)
            if problem is None:
                try:
                    out.basic_publish(
                        letter.original_exchange,
                        letter.routing_key,
                        body,
                        _replay_properties(properties, user),
                        mandatory=True,
                    )
                except pika.exceptions.UnroutableError:
                    problem = (
                        f"nothing bound to {letter.original_exchange} for {letter.routing_key}"
                    )
            if problem is not None:
                failed.append((letter, problem))
                continue
            channel.basic_ack(method.delivery_tag)
            replayed.append(letter)
        if kept is not None:  # the ones not replayed go back (acknowledged ones are gone)
            channel.basic_nack(kept, multiple=True, requeue=True)
        return ReplayResult(replayed, failed)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise Unavailable(
            f"RabbitMQ refused the replay ({len(replayed)} replayed): "
            f"{exc.reply_code} {exc.reply_text}"
        ) from exc
    except CONNECTION_ERRORS as exc:
        raise Unavailable(
            f"RabbitMQ connection lost during the replay ({len(replayed)} replayed): {exc}"
        ) from exc
    finally:
        close_quietly(out_connection)
        close_quietly(connection)


def _cannot_replay(letter: DeadLetter, user: str) -> str | None:
    if not letter.original_exchange:
        return "no original exchange recorded"
    if letter.publisher != user:
        first = f"user {letter.publisher!r}" if letter.publisher else "an unknown publisher"
        return (
            f"first published by {first}, not by {user!r}: a replay does not make it a "
            "permit publisher's message"
        )
    return None
