"""The permit consumer: ``cites-connector.permits`` into the ledger (contract 3.1).

Each worker thread owns one connection and one channel (pika is not thread-safe) with the
configured prefetch, and handles one message at a time (``permit_handler.py`` decides what
becomes of it):

- ack only after ``PermitService`` committed (the transaction holds the inbox row that makes a
  redelivery of the same ``message_id`` change nothing, so a crash between commit and ack
  applies nothing twice);
- a message refused (untrusted, invalid, unstorable, over its attempts) is copied to
  ``cites.dlx`` with the reason, with publisher confirms, then acked; the consumer carries on;
- a lost connection, a closed channel or a broker restart: reconnect with capped, jittered
  back-off, declare the topology again and go on. Unacknowledged messages come back.

While idle the thread looks at its queue's and the dead-letter queue's depth every few
seconds, for ``/healthz`` (``consumer_watch.py``).

Events of one permit may be handled by different threads in any order; the ledger's version
check and permit lock make the highest version win.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic
from structlog.contextvars import bound_contextvars

from cites_connector.adapters.amqp.connection import (
    CONNECTION_ERRORS,
    close_quietly,
    connect,
    describe,
)
from cites_connector.adapters.amqp.consumer_watch import (
    ConsumerStuck,
    ConsumerWatch,
    DeadLettersWaiting,
)
from cites_connector.adapters.amqp.dead_letters import dead_letter_depth, file_rejection
from cites_connector.adapters.amqp.permit_handler import (
    DeliveryAttempts,
    HandlerConfig,
    PermitHandler,
    PermitIntake,
    Reject,
    Requeue,
    Verdict,
)
from cites_connector.adapters.amqp.topology import BACKSTOP_DELIVERY_LIMIT, PERMITS_QUEUE, declare
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.domain.errors import ConnectorError

log = structlog.get_logger(__name__)
POLL_SECONDS = 5.0
#: back-off between reconnection attempts to the broker
RECONNECT = Backoff(initial=0.5, maximum=30.0, jitter=0.5)


class PermitConsumer:
    """The ``permit-consumer`` worker of ``cites-connector serve``."""

    name = "permit-consumer"

    def __init__(
        self,
        permits: PermitIntake,
        url: str,
        attempts: DeliveryAttempts,
        *,
        publishers: Iterable[str] = ("permit-system",),
        prefetch: int = 20,
        workers: int = 1,
        delivery_limit: int = 5,
        broker_delivery_limit: int = BACKSTOP_DELIVERY_LIMIT,
        max_bytes: int = 5 * 1024 * 1024,
        stuck_seconds: float = 60.0,
        reconnect: Backoff = RECONNECT,
        on_applied: Callable[[], None] | None = None,
    ):
        self.url = url
        self.prefetch = prefetch
        self.broker_delivery_limit = broker_delivery_limit
        self.stuck_seconds = stuck_seconds
        self.reconnect = reconnect
        self.handler = PermitHandler(
            permits,
            attempts,
            HandlerConfig(frozenset(publishers), max_bytes, delivery_limit, reconnect),
        )
        self.attempts = attempts
        #: called after each applied event (serve wakes the outbox relay with it)
        self.on_applied = on_applied
        self._stop = threading.Event()
        self._loops = [_ConsumerLoop(self, n) for n in range(workers)]
        #: probes ``/healthz`` shows without turning 503 (serve registers them)
        self.health_notes = [("dead-letters", self.dead_letter_probe)]

    def start(self) -> None:
        self._stop.clear()
        for loop in self._loops:
            loop.start()
        log.info(
            "amqp.consumer_started",
            queue=PERMITS_QUEUE,
            workers=len(self._loops),
            prefetch=self.prefetch,
            broker=describe(self.url),
        )

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
        """Raises unless every consumer thread is connected, consuming and making progress."""
        down = [loop for loop in self._loops if not loop.consuming]
        if down:
            why = down[0].watch.last_connection_error
            raise ConnectionError(
                f"permit consumer {[loop.index for loop in down]} not "
                f"connected to RabbitMQ at {describe(self.url)}" + (f": {why}" if why else "")
            )
        for loop in self._loops:
            stuck = loop.watch.stuck(self.stuck_seconds)
            if stuck:
                raise ConsumerStuck(f"permit consumer {loop.index} is stuck: {stuck}")

    def dead_letter_probe(self) -> None:
        """Raises ``DeadLettersWaiting`` when the dead-letter queue is not empty."""
        seen = [loop.watch.depths for loop in self._loops if loop.watch.depths is not None]
        if not seen:
            raise DeadLettersWaiting("depth of cites-connector.dead-letters not known yet")
        latest = max(seen, key=lambda depths: depths.at)
        if latest.dead_letters:
            count = latest.dead_letters
            raise DeadLettersWaiting(
                f"{count} message{'s' if count != 1 else ''} in "
                "cites-connector.dead-letters (cites-connector dlq list)",
                count,
            )

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopping; True when stopping."""
        return self._stop.wait(seconds)


class _ConsumerLoop:
    def __init__(self, owner: PermitConsumer, index: int):
        self.owner = owner
        self.index = index
        self.consuming = False
        self.watch = ConsumerWatch()
        self._thread: threading.Thread | None = None
        self._polled = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"permit-consumer-{self.index}", daemon=True
        )
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
                declare(channel, owner.broker_delivery_limit)
                channel.basic_qos(prefetch_count=owner.prefetch)
                channel.confirm_delivery()  # for the dead-lettered copies
                self.consuming, failures = True, 0
                self.watch.connected()
                log.info("amqp.consumer_connected", worker=self.index)
                self._consume(connection, channel)
            except pika.exceptions.ChannelClosedByBroker as exc:
                self.watch.last_connection_error = f"{exc.reply_code} {exc.reply_text}"
                log.error(
                    "amqp.consumer_channel_closed",
                    worker=self.index,
                    code=exc.reply_code,
                    reason=exc.reply_text,
                )
            except CONNECTION_ERRORS as exc:
                self.watch.last_connection_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "amqp.consumer_disconnected",
                    worker=self.index,
                    error=f"{type(exc).__name__}: {exc}",
                )
            except Exception:
                log.exception("amqp.consumer_failed", worker=self.index)
            finally:
                self.consuming = False
                self.watch.done()
                close_quietly(connection)
            if not owner.stopping:  # else the loop ends without waiting
                failures += 1
                delay = owner.reconnect.delay(failures)
                log.info("amqp.consumer_reconnecting", worker=self.index, in_s=round(delay, 2))
                owner.wait(delay)

    def _consume(self, connection: BlockingConnection, channel: BlockingChannel) -> None:
        owner = self.owner
        for method, properties, body in channel.consume(PERMITS_QUEUE, inactivity_timeout=0.5):
            if method is not None:
                self._handle(connection, channel, method, properties, body)
            if owner.stopping:
                break
            self._poll(channel)
        channel.cancel()  # prefetched, unhandled messages go back to the queue
        connection.close()

    def _poll(self, channel: BlockingChannel) -> None:
        if time.monotonic() - self._polled < POLL_SECONDS:
            return
        self._polled = time.monotonic()
        ready = channel.queue_declare(PERMITS_QUEUE, passive=True).method.message_count
        self.watch.polled(ready, dead_letter_depth(channel))

    def _handle(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        self.watch.took(properties.message_id or f"delivery {method.delivery_tag}")
        try:
            with bound_contextvars(
                message_id=properties.message_id, routing_key=method.routing_key
            ):
                verdict = self.owner.handler.handle(
                    method,
                    properties,
                    body,
                    self.watch,
                    lambda seconds: self._pause(connection, seconds),
                )
                self._carry_out(connection, channel, method, properties, body, verdict)
        finally:
            self.watch.done()

    def _carry_out(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        verdict: Verdict,
    ) -> None:
        if isinstance(verdict, Requeue):
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        if isinstance(verdict, Reject):
            if not self._reject(connection, channel, method, properties, body, verdict):
                return
        else:
            channel.basic_ack(method.delivery_tag)
            outcome = verdict.outcome
            log.info(
                "permit.event_consumed",
                permit_number=outcome.applied.permit_number,
                applied=outcome.applied.applied,
                duplicate=outcome.duplicate,
                released=len(outcome.released),
                reported=len(outcome.reported),
                detail=outcome.applied.detail,
            )
            if self.owner.on_applied is not None and (outcome.released or outcome.reported):
                self.owner.on_applied()
        if verdict.forget is not None:
            try:
                self.owner.attempts.forget(verdict.forget)
            except ConnectorError as exc:  # left behind: pruned later, harmless meanwhile
                log.warning("permit.attempts_not_cleared", error=exc.message)

    def _pause(self, connection: BlockingConnection, seconds: float) -> bool:
        """Wait while keeping the connection alive (heartbeats); True when stopping."""
        deadline = time.monotonic() + seconds
        while not self.owner.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            connection.sleep(min(left, 0.5))
        return True

    def _reject(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
        verdict: Reject,
    ) -> bool:
        try:
            file_rejection(
                channel,
                method.routing_key,
                method.exchange,
                properties,
                body,
                verdict.reason,
                verdict.detail,
            )
        except pika.exceptions.UnroutableError:
            log.error(
                "permit.rejection_unroutable",
                reason=verdict.reason,
                detail="nothing is bound to cites.dlx; the message is requeued",
            )
            self._pause(connection, 1.0)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return False
        channel.basic_ack(method.delivery_tag)
        log.warning(
            "permit.message_rejected",
            reason=verdict.reason,
            detail=verdict.detail,
            size=len(body),
            content_type=properties.content_type,
            publisher=properties.user_id,
        )
        return True
