"""Asking the permit system for a permit the connector does not hold (contract 3.3).

Request/reply over ``cites.rpc`` (direct, routing key ``permit.lookup``) with RabbitMQ's
direct reply-to (``amq.rabbitmq.reply-to``): no reply queue to declare or clean up. The
request expires with the timeout, so a permit system that comes back late does not answer
questions nobody is waiting for. Every way of not getting a usable permit in time returns
None, which the decision reports as ``PERMIT_UNKNOWN``: no reply, ``{"found": false}``,
nothing bound to ``permit.lookup`` (returned at once instead of waiting for the timeout), a
broker out of reach, or a reply that is not a valid permit for the number asked (logged).

A lookup opens its own connection: lookups are rare (only unknown permits), run in the SOAP
service's threads (pika is not thread-safe), and a fresh connection on loopback costs a few
milliseconds against a timeout of seconds.
"""

from __future__ import annotations

import json
import time
import uuid

import pika
import pika.exceptions
import structlog

from adapters.amqp.connection import CONNECTION_ERRORS, close_quietly, connect, describe
from adapters.amqp.permit_messages import IncomingMessage, decode_lookup_reply
from adapters.amqp.topology import LOOKUP_ROUTING_KEY, RPC_EXCHANGE
from connector.domain.errors import InvalidInput
from connector.domain.permits import Permit

log = structlog.get_logger(__name__)
REPLY_TO = "amq.rabbitmq.reply-to"


class AmqpPermitLookup:
    """``(permit number, expected issuer) -> Permit | None``: ``ClearanceService.lookup``."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_bytes: int = 5 * 1024 * 1024):
        self.url = url
        self.timeout = timeout
        self.max_bytes = max_bytes

    def __call__(self, permit_number: str, issuing_country: str | None) -> Permit | None:
        started = time.monotonic()
        bound = log.bind(permit_number=permit_number, issuing_country=issuing_country)
        try:
            reply = self._ask(permit_number, issuing_country, started + self.timeout)
        except CONNECTION_ERRORS as exc:
            bound.warning("permit.lookup_unavailable", broker=describe(self.url),
                          error=f"{type(exc).__name__}: {exc}")
            return None
        waited = round(time.monotonic() - started, 3)
        if reply is None:
            bound.info("permit.lookup_no_reply", waited_s=waited)
            return None
        if reply == "unroutable":
            bound.warning("permit.lookup_unroutable",
                          detail=f"nothing is bound to {RPC_EXCHANGE} {LOOKUP_ROUTING_KEY}")
            return None
        try:
            permit = decode_lookup_reply(reply, self.max_bytes)
        except InvalidInput as refused:
            bound.error("permit.lookup_reply_invalid", reason=refused.message)
            return None
        if permit is not None and permit.permit_number != permit_number:
            bound.error("permit.lookup_reply_invalid",
                        reason=f"the reply is permit {permit.permit_number}")
            return None
        bound.info("permit.lookup_answered", found=permit is not None, waited_s=waited)
        return permit

    def _ask(self, number: str, issuer: str | None, deadline: float):
        connection = connect(self.url, name="permit-lookup",
                             socket_timeout=max(0.5, min(5.0, self.timeout)))
        try:
            channel = connection.channel()
            correlation_id = str(uuid.uuid4())
            found: list = []
            returned: list = []

            def on_reply(_channel, _method, properties, body):
                if properties.correlation_id == correlation_id:
                    found.append(IncomingMessage(LOOKUP_ROUTING_KEY, body,
                                                 properties.content_type, properties.headers,
                                                 properties.message_id))

            channel.basic_consume(REPLY_TO, on_reply, auto_ack=True)
            channel.add_on_return_callback(lambda *_args: returned.append(True))
            body = json.dumps({"permit_number": number, "issuing_country": issuer}).encode()
            channel.basic_publish(RPC_EXCHANGE, LOOKUP_ROUTING_KEY, body, pika.BasicProperties(
                content_type="application/json", reply_to=REPLY_TO,
                correlation_id=correlation_id, message_id=correlation_id,
                expiration=str(max(1, int(self.timeout * 1000))), app_id="cites-connector"),
                mandatory=True)
            while not found and not returned:
                if channel.is_closed:  # e.g. no exchange cites.rpc: RabbitMQ closed it (404)
                    raise pika.exceptions.ChannelClosed(404, "channel closed by RabbitMQ")
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                connection.process_data_events(time_limit=min(left, 0.1))
            return found[0] if found else "unroutable"
        finally:
            close_quietly(connection)
