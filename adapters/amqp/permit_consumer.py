"""The permit consumer: ``cites-connector.permits`` into the ledger (contract 3.1).

Each worker thread owns one connection and one channel (pika is not thread-safe) with the
configured prefetch, and handles what the broker has delivered to it so far, up to the
prefetch, together (``permit_handler.py`` decides what becomes of each message):

- ack only after ``PermitService`` committed (the transaction holds the inbox row that makes a
  redelivery of the same ``message_id`` change nothing, so a crash between commit and ack
  applies nothing twice); messages delivered together are applied in one transaction and
  acked with one ``basic.ack(multiple)`` after it, or one by one when that transaction fails,
  so that a bad message is dead-lettered alone (issue 14);
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

import structlog

from cites_connector.adapters.amqp.connection import (
    describe,
)
from cites_connector.adapters.amqp.consumer_loop import ConsumerLoop
from cites_connector.adapters.amqp.consumer_watch import (
    ConsumerStuck,
    DeadLettersWaiting,
)
from cites_connector.adapters.amqp.permit_handler import (
    DeliveryAttempts,
    HandlerConfig,
    PermitHandler,
    PermitIntake,
)
from cites_connector.adapters.amqp.topology import BACKSTOP_DELIVERY_LIMIT, PERMITS_QUEUE
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.mappings.epermit_signature import SignatureRules

log = structlog.get_logger(__name__)
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
        metrics: ConnectorMetrics | None = None,
        signatures: SignatureRules | None = None,
    ):
        self.url = url
        self.prefetch = prefetch
        self.broker_delivery_limit = broker_delivery_limit
        self.stuck_seconds = stuck_seconds
        self.reconnect = reconnect
        self.handler = PermitHandler(
            permits,
            attempts,
            HandlerConfig(frozenset(publishers), max_bytes, delivery_limit, reconnect, signatures),
        )
        self.attempts = attempts
        #: called after each applied event (serve wakes the outbox relay with it)
        self.on_applied = on_applied
        #: permit events and dead letters are counted here (serve's /metrics)
        self.metrics = metrics
        self._stop = threading.Event()
        self._loops = [ConsumerLoop(self, n) for n in range(workers)]
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

    @property
    def running(self) -> bool:
        """Every consumer thread alive (/livez): a thread that died leaves its queue unread."""
        return all(loop.alive for loop in self._loops)

    def health_probe(self) -> None:
        """Raises unless every consumer thread is connected, consuming and making progress."""
        self.broker_probe()
        self.progress_probe()

    def broker_probe(self) -> None:
        """Raises unless every consumer thread is connected to RabbitMQ and consuming."""
        down = [loop for loop in self._loops if not loop.consuming]
        if down:
            why = down[0].watch.last_connection_error
            raise ConnectionError(
                f"permit consumer {[loop.index for loop in down]} not "
                f"connected to RabbitMQ at {describe(self.url)}" + (f": {why}" if why else "")
            )

    def progress_probe(self) -> None:
        """Raises ``ConsumerStuck`` when a consumer thread makes no progress."""
        for loop in self._loops:
            stuck = loop.watch.stuck(self.stuck_seconds)
            if stuck:
                raise ConsumerStuck(f"permit consumer {loop.index} is stuck: {stuck}")

    def stuck_threads(self) -> list[tuple[str, bool]]:
        """(thread name, stuck?) per consumer thread: cites_connector_permit_consumer_stuck."""
        return [
            (f"{self.name}-{loop.index}", loop.watch.stuck(self.stuck_seconds) is not None)
            for loop in self._loops
        ]

    def dead_letter_depth(self) -> int | None:
        """Messages in cites-connector.dead-letters at the latest poll; None before one."""
        seen = [loop.watch.depths for loop in self._loops if loop.watch.depths is not None]
        return max(seen, key=lambda depths: depths.at).dead_letters if seen else None

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
