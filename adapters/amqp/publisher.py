"""The outbox relay's ``amqp`` deliverer: usage reports (3.2) and broker notifications (3.4).

Each row is published persistent, with ``mandatory``, its own ``message_id`` (stable across
retries, so receivers drop repeats), ``content_type`` ``application/json`` and its headers,
on a channel in confirm mode: ``deliver`` returns only after the broker confirmed, and the
relay marks the row sent only then.

A message returned as unroutable (no queue bound for its routing key) is treated by exchange:

- ``cites.usage``: retried with back-off. The electronic endorsement must reach the permit
  system; a return means its queue is missing, and the report waits in the outbox, in order
  per permit, until the queue is bound.
- ``customs.notifications`` (and anything else): delivered. Brokers subscribe to the
  declarant codes they want; a notification for a broker with no queue is logged
  (``amqp.unrouted``) and not kept, or it would block its declaration's later messages.

Broker notifications get ``text`` and ``html`` rendered here, at delivery time, so a template
an administrator corrects is used for every notification not yet sent, in the language chosen
for the declarant when it is sent (``language_of``, looked up by the code in the routing key;
the body's ``language`` says which one was used).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from cites_connector.adapters.amqp.connection import (
    CONNECTION_ERRORS,
    close_quietly,
    connect,
    describe,
    why_unreachable,
)
from cites_connector.adapters.amqp.topology import (
    NOTIFICATIONS_EXCHANGE,
    USAGE_EXCHANGE,
    declare_exchanges,
)
from cites_connector.adapters.outbox.delivery import (
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnreachableError,
)
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.mappings.outbox_messages import declarant_of

log = structlog.get_logger(__name__)
CHANNEL = "amqp"


class NotificationRenderer(Protocol):
    """Turns a notification body into its text and HTML (the editable templates)."""

    def render(self, body: Mapping[str, Any], language: str | None = None) -> tuple[str, str]: ...

    def language_for(self, language: str | None) -> str: ...


class AmqpDeliverer:
    def __init__(
        self,
        url: str,
        *,
        renderer: NotificationRenderer | None = None,
        language_of: Callable[[str], str | None] | None = None,
        must_route: Iterable[str] = (USAGE_EXCHANGE,),
    ):
        self.url = url
        self.renderer = renderer
        self.language_of = language_of
        self.must_route = frozenset(must_route)
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self.close()
            connection = self._connection = connect(self.url, name="outbox-relay")
            channel = connection.channel()
            declare_exchanges(channel)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def body(self, row: OutboxRow) -> bytes:
        body = dict(row.body)
        if row.destination == NOTIFICATIONS_EXCHANGE and self.renderer is not None:
            chosen = self._language(row)
            try:
                body["text"], body["html"] = self.renderer.render(body, chosen)
            except Exception as exc:
                raise PermanentDeliveryError(f"cannot render the notification: {exc}") from exc
            body["language"] = self.renderer.language_for(chosen)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def _language(self, row: OutboxRow) -> str | None:
        """The declarant's chosen language; None (the default) when it has none."""
        code = declarant_of(row.routing_key)
        if code is None or self.language_of is None:
            return None
        try:
            return self.language_of(code)
        except Exception as exc:  # the database: the notification waits for it, in order
            raise RetryableDeliveryError(
                f"cannot read the language of declarant {code}: {exc}"
            ) from exc

    def deliver(self, row: OutboxRow) -> None:
        payload = self.body(row)
        properties = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=row.message_id,
            headers=dict(row.headers) or None,
            timestamp=int(row.created_at.timestamp()),
            type=row.routing_key,
            app_id="cites-connector",
        )
        try:
            self._open().basic_publish(
                row.destination, row.routing_key, payload, properties, mandatory=True
            )
        except pika.exceptions.UnroutableError:
            if row.destination in self.must_route:
                raise RetryableDeliveryError(
                    f"no queue is bound to {row.destination} for {row.routing_key}: the "
                    "report waits until the permit system's queue exists"
                ) from None
            log.warning(
                "amqp.unrouted",
                message_id=row.message_id,
                exchange=row.destination,
                routing_key=row.routing_key,
            )
        except pika.exceptions.NackError:
            raise RetryableDeliveryError(
                f"RabbitMQ refused (nack) the message to {row.destination}"
            ) from None
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.close()
            raise RetryableDeliveryError(
                f"RabbitMQ closed the channel: {exc.reply_code} {exc.reply_text}"
            ) from exc
        except CONNECTION_ERRORS as exc:
            self.close()
            raise UnreachableError(
                f"RabbitMQ at {describe(self.url)} not reachable: {why_unreachable(self.url, exc)}"
            ) from exc

    def close(self) -> None:
        close_quietly(self._connection)
        self._connection = self._channel = None
