"""Asking the permit system for permits the connector does not hold (contract 3.3).

Request/reply over ``cites.rpc`` (direct, routing key ``permit.lookup``) with RabbitMQ's
direct reply-to (``amq.rabbitmq.reply-to``): no reply queue to declare or clean up. All the
questions of one declaration go out on one connection, each with its own ``correlation_id``,
and are waited for together until one deadline (the service decides which to ask:
``connector/services/permit_lookup.py``). Each request expires with the timeout, so a permit
system that comes back late does not answer questions nobody is waiting for.

A reply counts only when its ``user_id`` (checked by RabbitMQ against the replying
connection) is a permit publisher (contract 3.3 (v2)): anyone else who can see the requests
could race a forged permit into the answer. An untrusted reply is logged and ignored, and the
genuine one still awaited. A reply that is not a valid permit for the number asked is logged
and ignored too. No usable answer in time, nothing bound to ``permit.lookup`` (returned at
once instead of waiting for the timeout) or a broker out of reach: the number is left out of
the answers, which the decision reports as ``PERMIT_UNKNOWN``.

A lookup opens its own connection: lookups are rare (only unknown permits), run in the SOAP
service's threads (pika is not thread-safe), and a fresh connection on loopback costs a few
milliseconds against a timeout of seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic

from cites_connector.adapters.amqp.connection import (
    CONNECTION_ERRORS,
    close_quietly,
    connect,
    describe,
)
from cites_connector.adapters.amqp.permit_messages import (
    IncomingMessage,
    decode_lookup_reply,
    require_trusted,
)
from cites_connector.adapters.amqp.topology import LOOKUP_ROUTING_KEY, RPC_EXCHANGE
from cites_connector.domain.errors import InvalidInput, PermitEventRefused
from cites_connector.mappings.epermit_signature import SignatureRules
from cites_connector.services.permit_lookup import LookupAnswer

log = structlog.get_logger(__name__)
REPLY_TO = "amq.rabbitmq.reply-to"


class AmqpPermitLookup:
    """The ``PermitLookupPort`` over RabbitMQ."""

    def __init__(
        self,
        url: str,
        *,
        publishers: Iterable[str] = ("permit-system",),
        max_bytes: int = 5 * 1024 * 1024,
        signatures: SignatureRules | None = None,
    ):
        self.url = url
        self.publishers = frozenset(publishers)
        self.max_bytes = max_bytes
        self.signatures = signatures

    def ask(
        self, queries: Sequence[tuple[str, str | None]], timeout: float
    ) -> dict[str, LookupAnswer]:
        started = time.monotonic()
        try:
            replies = self._exchange(list(queries), started + timeout, timeout)
        except CONNECTION_ERRORS as exc:
            log.warning(
                "permit.lookup_unavailable",
                broker=describe(self.url),
                asked=len(queries),
                error=f"{type(exc).__name__}: {exc}",
            )
            return {}
        log.info(
            "permit.lookup_finished",
            asked=len(queries),
            answered=len(replies),
            waited_s=round(time.monotonic() - started, 3),
        )
        return replies

    def _read(self, number: str, reply: IncomingMessage) -> LookupAnswer | None:
        bound = log.bind(permit_number=number, publisher=reply.user_id)
        try:
            publisher = require_trusted(reply, self.publishers, "a lookup reply")
            permit = decode_lookup_reply(reply, self.max_bytes, self.signatures)
        except PermitEventRefused as refused:
            bound.error("permit.lookup_reply_untrusted", reason=refused.detail)
            return None
        except InvalidInput as refused:
            bound.error("permit.lookup_reply_invalid", reason=refused.message)
            return None
        if permit is not None and permit.permit_number != number:
            bound.error(
                "permit.lookup_reply_invalid", reason=f"the reply is permit {permit.permit_number}"
            )
            return None
        return LookupAnswer(permit, publisher)

    def _exchange(
        self, queries: list[tuple[str, str | None]], deadline: float, timeout: float
    ) -> dict[str, LookupAnswer]:
        connection = connect(
            self.url, name="permit-lookup", socket_timeout=max(0.5, min(5.0, timeout))
        )
        try:
            channel = connection.channel()
            waiting = {str(uuid.uuid4()): number for number, _ in queries}
            answers: dict[str, LookupAnswer] = {}

            def on_reply(
                _channel: BlockingChannel,
                _method: Basic.Deliver,
                properties: pika.BasicProperties,
                body: bytes,
            ) -> None:
                number = waiting.get(properties.correlation_id)
                if number is None or number in answers:
                    return
                answer = self._read(
                    number,
                    IncomingMessage(
                        LOOKUP_ROUTING_KEY,
                        body,
                        properties.content_type,
                        properties.headers,
                        properties.message_id,
                        properties.user_id,
                    ),
                )
                if answer is not None:
                    answers[number] = answer
                    del waiting[properties.correlation_id]

            def on_return(
                _channel: BlockingChannel,
                _method: Basic.Return,
                properties: pika.BasicProperties,
                _body: bytes,
            ) -> None:
                number = waiting.pop(properties.correlation_id, None)
                if number is not None:
                    log.warning(
                        "permit.lookup_unroutable",
                        permit_number=number,
                        detail=f"nothing is bound to {RPC_EXCHANGE} {LOOKUP_ROUTING_KEY}",
                    )

            channel.basic_consume(REPLY_TO, on_reply, auto_ack=True)
            channel.add_on_return_callback(on_return)
            issuers = dict(queries)
            for correlation_id, number in list(waiting.items()):
                body = json.dumps(
                    {"permit_number": number, "issuing_country": issuers[number]}
                ).encode()
                channel.basic_publish(
                    RPC_EXCHANGE,
                    LOOKUP_ROUTING_KEY,
                    body,
                    pika.BasicProperties(
                        content_type="application/json",
                        reply_to=REPLY_TO,
                        correlation_id=correlation_id,
                        message_id=correlation_id,
                        expiration=str(max(1, int(timeout * 1000))),
                        app_id="cites-connector",
                    ),
                    mandatory=True,
                )
            while waiting:
                if channel.is_closed:  # e.g. no exchange cites.rpc: RabbitMQ closed it (404)
                    raise pika.exceptions.ChannelClosed(404, "channel closed by RabbitMQ")
                left = deadline - time.monotonic()
                if left <= 0:
                    log.info("permit.lookup_no_reply", permit_numbers=sorted(waiting.values()))
                    break
                connection.process_data_events(time_limit=min(left, 0.1))
            return answers
        finally:
            close_quietly(connection)
