"""The relay as background workers of ``cites-connector serve`` (built by cites_connector.app):
one ``RelayWorker`` thread per lane (lanes.py) and one ``LeaseKeeper`` renewing the leases of
the rows the lanes have in hand, together an ``OutboxLanes``.

Each lane polls: the outbox is a table, and a poll every half second costs one indexed query,
while it needs no coupling between the transaction that writes a row and the thread that
sends it. ``wake()`` lets a caller that just committed rows skip the wait. Deliverers are
used and closed in the worker's own thread (pika connections are not thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from cites_connector.adapters.background import BackgroundWorker
from cites_connector.adapters.outbox.lanes import LaneStuck, is_stuck
from cites_connector.adapters.outbox.relay import OutboxRelay

log = structlog.get_logger(__name__)


class RelayWorker(BackgroundWorker):
    """One lane's thread. A failed pass (the database out of reach) is retried after a
    capped, doubling delay (``max_error_delay``); a receiver out of reach pauses the lane for
    the relay's lane back-off, which ``wake()`` does not cut short."""

    first_pass_at_once = True

    def __init__(
        self,
        relay: OutboxRelay,
        *,
        poll_interval: float = 0.5,
        max_error_delay: float = 5.0,
        name: str | None = None,
    ):
        super().__init__(poll_interval, name=name or "outbox-relay")
        self.relay = relay
        self.max_error_delay = max_error_delay
        self._error_delay = poll_interval

    @property
    def poll_interval(self) -> float:
        return self.interval

    def started(self) -> None:
        log.info(
            "outbox.relay_started", lane=self.relay.lane, channels=sorted(self.relay.deliverers)
        )

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the delivery in hand, give the rest of the batch back, then return."""
        stopped = super().stop(timeout)
        if not stopped:
            log.warning("outbox.relay_stop_timeout", timeout=timeout)
        return stopped

    def run_pass(self) -> float:
        delivered = self.relay.run_once(self._stop.is_set)
        self._error_delay = self.interval
        pause = self.relay.take_pause()
        if pause > 0:  # the receiver is out of reach: a wake does not cut this short
            self.sleep(pause)
            return 0.0
        return self.interval if delivered == 0 else 0.0

    def pass_failed(self, exc: Exception) -> float:
        delay = self._error_delay
        log.warning(
            "outbox.relay_pass_failed",
            lane=self.relay.lane,
            retry_in=delay,
            error=f"{type(exc).__name__}: {exc}",
        )
        self.relay.watch.failed(type(exc).__name__)
        self._error_delay = min(delay * 2, self.max_error_delay)
        return delay

    def finished(self) -> None:
        self.relay.close()
        log.info("outbox.relay_stopped", lane=self.relay.lane)


class LeaseKeeper(BackgroundWorker):
    """Renews, every third of the lease, the leases of the rows each lane has in hand, so a
    delivery that takes long (a slow receiver, its timeouts) keeps its rows while a crashed
    process's rows come back within one lease. A failed renewal is logged and tried again at
    the next tick; a lane whose lease is not renewed starts no delivery after half of it."""

    name = "outbox-lease-keeper"

    def __init__(self, relays: Sequence[OutboxRelay], interval: float):
        super().__init__(interval)
        self.relays = list(relays)
        self._failing = False

    def renew_once(self) -> None:
        for relay in self.relays:
            try:
                relay.renew_leases()
            except Exception as exc:
                if not self._failing:  # one line per outage, not one per tick
                    log.warning(
                        "outbox.lease_renewal_failed",
                        lane=relay.lane,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                self._failing = True
                return
        if self._failing:
            log.info("outbox.lease_renewal_recovered")
        self._failing = False

    def run_pass(self) -> None:
        self.renew_once()


class OutboxLanes:
    """Every lane's worker and the lease-keeper, started and stopped as one worker of serve.

    ``stuck_seconds``: a lane with no progress that long while its oldest waiting message is
    as old is stuck; ``oldest_waiting(channels)`` reads that age from the database."""

    name = "outbox-relay"

    def __init__(
        self,
        workers: Sequence[RelayWorker],
        *,
        keeper: LeaseKeeper | None = None,
        stuck_seconds: float = 60.0,
        oldest_waiting: Callable[[Sequence[str]], float | None] | None = None,
    ):
        self.workers = list(workers)
        self.keeper = keeper or LeaseKeeper(
            [w.relay for w in self.workers],
            interval=min((w.relay.lease.total_seconds() / 3 for w in self.workers), default=3.0),
        )
        self.stuck_seconds = stuck_seconds
        self.oldest_waiting = oldest_waiting

    @property
    def lanes(self) -> list[str]:
        return [w.relay.lane for w in self.workers]

    def lane(self, name: str) -> RelayWorker:
        return next(w for w in self.workers if w.relay.lane == name)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        self.keeper.start()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Every lane finishes the delivery in hand (at once: one hung lane does not make the
        others wait), gives the rest back; then the keeper stops."""
        for worker in self.workers:
            worker.signal_stop()
        for worker in self.workers:
            worker.stop(timeout)
        self.keeper.stop(timeout)

    @property
    def running(self) -> bool:
        return all(w.running for w in self.workers) and self.keeper.running

    # -- stuck lanes ----------------------------------------------------------------------------
    def stuck(self, worker: RelayWorker) -> str | None:
        """Why the lane is stuck, or None. Reads the database only when the lane has been
        quiet that long; a database out of reach then counts as stuck (nothing can move)."""
        quiet = worker.relay.watch.quiet_for()
        if quiet <= self.stuck_seconds:
            return None
        if self.oldest_waiting is None:
            oldest: float | None = quiet
        else:
            try:
                oldest = self.oldest_waiting(sorted(worker.relay.deliverers))
            except Exception as exc:
                return f"no progress for {quiet:.0f} s, database: {type(exc).__name__}"
        if not is_stuck(quiet, oldest, self.stuck_seconds):
            return None
        return f"no progress for {quiet:.0f} s, oldest waiting message {oldest:.0f} s old"

    def stuck_lanes(self) -> dict[str, bool]:
        """Per lane, stuck or not (the gauge cites_connector_outbox_lane_stuck)."""
        return {w.relay.lane: self.stuck(w) is not None for w in self.workers}

    def probe(self, lane: str) -> Callable[[], None]:
        """The /readyz probe of one lane: raises LaneStuck (its text goes to the log only)."""
        worker = self.lane(lane)

        def probe() -> None:
            if not worker.running:
                raise LaneStuck(f"outbox lane {lane}: its thread is not running")
            why = self.stuck(worker)
            if why is not None:
                raise LaneStuck(f"outbox lane {lane} is stuck: {why}")

        return probe
