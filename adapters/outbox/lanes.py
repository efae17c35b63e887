"""Lanes: one relay thread per destination, so a receiver that hangs holds back only its own.

Each lane claims the rows of its channels only (``amqp``: usage reports and notifications to
RabbitMQ; ``customs``: the customs callbacks; ``epix``: ConfirmQuantities through the hub).
Order per key (a permit's usage reports) is kept inside a channel, hence inside a lane; a row
leased by one lane never blocks another lane's rows.

A lane is **stuck** when it has made no progress (no message sent, and not idle with nothing
to do) for ``outbox_stuck_seconds`` while its oldest waiting message is older than that: a
receiver that hangs or is down, a lane thread caught in a call. ``/readyz`` names it, the
gauge ``cites_connector_outbox_lane_stuck`` is 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from cites_connector.mappings.epix_messages import EPIX_CONFIRM
from cites_connector.mappings.outbox_messages import AMQP, CUSTOMS_CALLBACK

#: lane name per outbox channel; a channel not listed is a lane of its own name
LANE_OF_CHANNEL = {AMQP: "amqp", CUSTOMS_CALLBACK: "customs", EPIX_CONFIRM: "epix"}


def lane_of(channel: str) -> str:
    return LANE_OF_CHANNEL.get(channel, channel)


def lanes_of(channels: Iterable[str]) -> dict[str, list[str]]:
    """The channels grouped by lane, each list sorted; lanes in name order."""
    grouped: dict[str, list[str]] = {}
    for channel in sorted(set(channels)):
        grouped.setdefault(lane_of(channel), []).append(channel)
    return dict(sorted(grouped.items()))


class LaneWatch:
    """What a lane did last, read by /readyz and /metrics from other threads.

    Progress is a message sent, or a pass that found nothing to do while the lane was not
    failing (nothing due: nothing to be stuck on). A failed delivery makes the lane failing
    until a message goes through, so a lane that retries one message for ever is not "idle".
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._last_progress = monotonic()
        self._failing = False
        #: the last error of a failing lane (log only: it may name a host)
        self.last_error: str | None = None

    def sent(self) -> None:
        with self._lock:
            self._last_progress = self.monotonic()
            self._failing = False
            self.last_error = None

    def failed(self, error: str) -> None:
        with self._lock:
            self._failing = True
            self.last_error = error

    def settled(self) -> None:
        """A message left the lane's hands for good (refused, given up): not the lane's fault."""
        with self._lock:
            self._failing = False

    def idle(self) -> None:
        with self._lock:
            if not self._failing:
                self._last_progress = self.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the lane last made progress."""
        with self._lock:
            return max(0.0, self.monotonic() - self._last_progress)

    @property
    def failing(self) -> bool:
        return self._failing


class LaneStuck(Exception):
    """A lane makes no progress while messages wait (raised by its /readyz probe)."""

    #: what /readyz shows for the lane (the message, which may name a host, goes to the log)
    public_state = "stuck"


def is_stuck(quiet: float, oldest_waiting: float | None, threshold: float) -> bool:
    """No progress for ``threshold`` seconds and a message waiting at least as long."""
    return quiet > threshold and oldest_waiting is not None and oldest_waiting > threshold
