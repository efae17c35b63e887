"""The permit consumer: ``cites-connector.permits`` into the ledger (contract 3.1).

Each worker thread owns one connection and one channel (pika is not thread-safe) with the
configured prefetch, and handles one message at a time:

- ack only after ``PermitService`` committed (the transaction holds the inbox row that makes a
  redelivery of the same ``message_id`` change nothing, so a crash between commit and ack
  applies nothing twice);
- a message that cannot be parsed or validated is copied to ``cites.dlx`` with the reason,
  with publisher confirms, then acked; the consumer carries on;
- the ledger out of reach (``Unavailable``) is waited out with capped back-off while the
  message is held unacknowledged: an outage of any length neither loses the event nor burns
  its delivery count (RabbitMQ 3.x counts every return). Any other failure is a nack with
  requeue; the queue's delivery limit then dead-letters a message that always fails;
- a lost connection, a closed channel or a broker restart: reconnect with capped, jittered
  back-off, declare the topology again and go on. Unacknowledged messages come back.

Events of one permit may be handled by different threads in any order; the ledger's version
check and permit lock make the highest version win.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pika
import pika.exceptions
import structlog
from structlog.contextvars import bound_contextvars

from adapters.amqp.connection import CONNECTION_ERRORS, close_quietly, connect, describe
from adapters.amqp.dead_letters import file_rejection
from adapters.amqp.permit_messages import IncomingMessage, decode_event, message_key
from adapters.amqp.topology import PERMITS_QUEUE, declare
from adapters.outbox.backoff import Backoff
from connector.domain.errors import InvalidInput, Unavailable
from connector.domain.permits import Permit

log = structlog.get_logger(__name__)
ACTOR = "permit-system"


class PermitConsumer:
    """The ``permit-consumer`` worker of ``cites-connector serve``."""

    name = "permit-consumer"

    def __init__(self, permits, url: str, *, prefetch: int = 20, workers: int = 1,
                 delivery_limit: int = 5, max_bytes: int = 5 * 1024 * 1024,
                 reconnect: Backoff = Backoff(initial=0.5, maximum=30.0, jitter=0.5),
                 on_applied: Callable[[], None] | None = None):
        self.permits = permits
        self.url = url
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.max_bytes = max_bytes
        self.reconnect = reconnect
        #: called after each applied event (serve wakes the outbox relay with it)
        self.on_applied = on_applied
        self._stop = threading.Event()
        self._loops = [_ConsumerLoop(self, n) for n in range(workers)]

    def start(self) -> None:
        self._stop.clear()
        for loop in self._loops:
            loop.start()
        log.info("amqp.consumer_started", queue=PERMITS_QUEUE, workers=len(self._loops),
                 prefetch=self.prefetch, broker=describe(self.url))

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the message in hand, give back the prefetched ones, close the connections."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for loop in self._loops:
            loop.join(max(0.0, deadline - time.monotonic()))
        log.info("amqp.consumer_stopped")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def health_probe(self) -> None:
        """Raises unless every consumer thread is connected and consuming."""
        down = [loop.index for loop in self._loops if not loop.consuming]
        if down:
            raise ConnectionError(f"permit consumer {down} not connected to RabbitMQ at "
                                  f"{describe(self.url)}")

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopping; True when stopping."""
        return self._stop.wait(seconds)


class _ConsumerLoop:
    def __init__(self, owner: PermitConsumer, index: int):
        self.owner = owner
        self.index = index
        self.consuming = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"permit-consumer-{self.index}",
                                        daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("amqp.consumer_stop_timeout", worker=self.index)

    def _run(self) -> None:
        owner, failures = self.owner, 0
        while not owner.stopping:
            connection = None
            try:
                connection = connect(owner.url, name=f"permit-consumer-{self.index}")
                channel = connection.channel()
                declare(channel, owner.delivery_limit)
                channel.basic_qos(prefetch_count=owner.prefetch)
                channel.confirm_delivery()  # for the dead-lettered copies
                self.consuming, failures = True, 0
                log.info("amqp.consumer_connected", worker=self.index)
                self._consume(connection, channel)
            except pika.exceptions.ChannelClosedByBroker as exc:
                log.error("amqp.consumer_channel_closed", worker=self.index,
                          code=exc.reply_code, reason=exc.reply_text)
            except CONNECTION_ERRORS as exc:
                log.warning("amqp.consumer_disconnected", worker=self.index,
                            error=f"{type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001 - the thread must survive anything and reconnect
                log.exception("amqp.consumer_failed", worker=self.index)
            finally:
                self.consuming = False
                close_quietly(connection)
            if owner.stopping:
                break
            failures += 1
            delay = owner.reconnect.delay(failures)
            log.info("amqp.consumer_reconnecting", worker=self.index, in_s=round(delay, 2))
            owner.wait(delay)

    def _consume(self, connection, channel) -> None:
        owner = self.owner
        for method, properties, body in channel.consume(PERMITS_QUEUE, inactivity_timeout=0.5):
            if method is not None:
                self._handle(connection, channel, method, properties, body)
            if owner.stopping:
                break
        channel.cancel()  # prefetched, unhandled messages go back to the queue
        connection.close()

    def _handle(self, connection, channel, method, properties, body: bytes) -> None:
        message = IncomingMessage(method.routing_key, body, properties.content_type,
                                  properties.headers, properties.message_id)
        message_id, given = message_key(message)
        with bound_contextvars(message_id=message_id, routing_key=method.routing_key):
            if not given:
                log.info("permit.message_without_id", detail="idempotency key is a hash of "
                         "routing key, permit-version header and body")
            try:
                event = decode_event(message, self.owner.max_bytes)
            except InvalidInput as refused:
                self._reject(connection, channel, method, properties, body, refused.message)
                return
            outcome = self._apply(connection, event, message_id)
            if outcome is None:  # stopping while the ledger was down, or an unexpected error
                channel.basic_nack(method.delivery_tag, requeue=True)
                return
            if isinstance(outcome, InvalidInput):
                self._reject(connection, channel, method, properties, body, outcome.message)
                return
            channel.basic_ack(method.delivery_tag)
            log.info("permit.event_consumed", permit_number=outcome.applied.permit_number,
                     applied=outcome.applied.applied, duplicate=outcome.duplicate,
                     released=len(outcome.released), reported=len(outcome.reported),
                     detail=outcome.applied.detail)
            if self.owner.on_applied is not None and (outcome.released or outcome.reported):
                self.owner.on_applied()

    def _apply(self, connection, event, message_id: str):
        permits, failures = self.owner.permits, 0
        while True:
            try:
                if isinstance(event, Permit):
                    return permits.receive_permit(event, actor=ACTOR, message_id=message_id)
                return permits.receive_status(event, actor=ACTOR, message_id=message_id)
            except InvalidInput as refused:
                return refused
            except Unavailable as exc:
                failures += 1
                delay = min(self.owner.reconnect.delay(failures), 30.0)
                log.warning("permit.ledger_unavailable", error=exc.message, retry_in=delay)
                if self._pause(connection, delay):
                    return None
            except Exception:  # noqa: BLE001 - nack: the delivery limit stops a poison loop
                log.exception("permit.event_failed")
                self._pause(connection, 1.0)
                return None

    def _pause(self, connection, seconds: float) -> bool:
        """Wait while keeping the connection alive (heartbeats); True when stopping."""
        deadline = time.monotonic() + seconds
        while not self.owner.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            connection.sleep(min(left, 0.5))
        return True

    def _reject(self, connection, channel, method, properties, body: bytes, reason: str) -> None:
        try:
            file_rejection(channel, method.routing_key, method.exchange, properties, body, reason)
        except pika.exceptions.UnroutableError:
            log.error("permit.rejection_unroutable", reason=reason,
                      detail="nothing is bound to cites.dlx; the message is requeued")
            self._pause(connection, 1.0)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        channel.basic_ack(method.delivery_tag)
        log.warning("permit.message_rejected", reason=reason, size=len(body),
                    content_type=properties.content_type)
