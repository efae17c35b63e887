"""What ``/healthz`` knows of a permit consumer thread: connected, stuck, dead letters waiting.

A consumer that is connected can still be of no use: one message held for minutes (a
database refusing it in a way taken for an outage, a lock never granted) keeps every later
permit waiting. Before issue 9 that showed as 200 on ``/healthz``. Now a thread is reported
stuck (503, naming the consumer and the message) when it has held one message for longer than
``CONNECTOR_AMQP_STUCK_SECONDS``, or when messages have waited in its queue that long while
it received none.

The dead-letter queue's depth is shown in the ``/healthz`` body without making it 503: a dead
letter is a message the connector refused on purpose (and named why); the connector is doing
its job, an operator has something to look at (``cites-connector dlq list``).

The consumer thread writes these fields, the health check's threads read them: each is one
assignment of an immutable value, so no lock is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class ConsumerStuck(Exception):
    """The consumer is connected but makes no progress (``/healthz`` shows ``stuck``; the
    message it holds is named in the log only)."""

    public_state = "stuck"


class DeadLettersWaiting(Exception):
    """Messages wait in the dead-letter queue (reported, not a failure of the connector).

    The count is safe to show on ``/healthz``: it names no host, user or message."""

    def __init__(self, message: str, count: int | None = None):
        super().__init__(message)
        self.public_state = f"{count} waiting" if count else "unknown"


@dataclass(frozen=True)
class InHand:
    key: str
    since: float
    failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class QueueDepths:
    ready: int
    dead_letters: int
    at: float


class ConsumerWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.in_hand: InHand | None = None
        self.depths: QueueDepths | None = None
        self.last_delivery = clock()
        #: why the last connection attempt failed (shown while not connected)
        self.last_connection_error: str | None = None

    def connected(self) -> None:
        self.last_delivery = self.clock()
        self.last_connection_error = None

    def took(self, key: str) -> None:
        self.last_delivery = self.clock()
        self.in_hand = InHand(key, self.last_delivery)

    def failing(self, error: str) -> None:
        held = self.in_hand
        if held is not None:
            self.in_hand = InHand(held.key, held.since, held.failures + 1, error[:300])

    def done(self) -> None:
        self.in_hand = None

    def polled(self, ready: int, dead_letters: int) -> None:
        self.depths = QueueDepths(ready, dead_letters, self.clock())

    def stuck(self, limit: float) -> str | None:
        """Why the consumer counts as stuck, or None."""
        now = self.clock()
        held = self.in_hand
        if held is not None and now - held.since > limit:
            reason = f"; last error: {held.last_error}" if held.last_error else ""
            return (
                f"one message ({held.key}) in hand for {now - held.since:.0f} s, "
                f"{held.failures} failed attempts{reason}"
            )
        depths = self.depths
        if (
            held is None
            and depths is not None
            and depths.ready > 0
            and now - self.last_delivery > limit
            and now - depths.at < limit
        ):
            return (
                f"{depths.ready} messages wait in the queue, none received for "
                f"{now - self.last_delivery:.0f} s"
            )
        return None
