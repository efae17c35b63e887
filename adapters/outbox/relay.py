"""One pass of a lane's relay: claim due rows, deliver each through its channel, record it.

A row is marked sent as soon as its deliverer returned (the receiver has it: a publisher
confirm, an HTTP 2xx, an EPIX answer), in its own short transaction, so a crash or a database
outage later in the batch sends again only the rows not yet marked: at least once, with the
stable ``message_id`` receivers use to drop repeats (contract 3.2, 4). Rows of a channel with
no deliverer (the customs callback before ``CONNECTOR_CUSTOMS_URL`` is set) are never claimed:
they wait, unfailed.

Claimed rows are leased for a short time (``outbox_lease_seconds``, 10 s) and the lease is
renewed by the lease-keeper (``renew_leases``, called from another thread) while the relay
works on them, so a process that dies leaves its rows to another within seconds. When the
renewal fails (the database out of reach) the relay starts no delivery after half the lease.

A receiver out of reach (``UnreachableError``: connection refused, a timeout, the broker down)
ends the batch: the rest is given back and the lane waits its own capped back-off
(``pause``), with one log line per back-off, not one per row.

Nothing is retried for ever (contract 4 and 3.4, v2): a refusal (``PermanentDeliveryError``)
fails the row at once, and a row still failing after ``max_attempts`` tries fails too. A
failed row waits, shown by ``outbox status``, until an operator sends it again with
``outbox retry``; later rows of its ordering key wait behind it, so order is never broken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum

import structlog

from cites_connector.adapters.outbox.backoff import DEFAULT_BACKOFF, Backoff
from cites_connector.adapters.outbox.delivery import (
    Deliverer,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnreachableError,
)
from cites_connector.adapters.outbox.lanes import LaneWatch, lane_of
from cites_connector.adapters.outbox.store import OutboxRow, SqlOutboxStore

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


#: a lane's pauses after its receiver was out of reach (setting outbox_lane_backoff_max_seconds)
LANE_BACKOFF = Backoff(initial=0.5, maximum=30.0, jitter=0.5)


class Outcome(Enum):
    SENT = "sent"
    FAILED = "failed"  # retrying later or failed for good: its key is blocked for this batch
    UNREACHABLE = "unreachable"  # the receiver is out of reach: the batch ends


class OutboxRelay:
    def __init__(
        self,
        store: SqlOutboxStore,
        deliverers: Mapping[str, Deliverer],
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff = DEFAULT_BACKOFF,
        batch_size: int = 100,
        lease: timedelta = timedelta(seconds=10),
        max_attempts: int = 100,
        lane: str | None = None,
        lane_backoff: Backoff = LANE_BACKOFF,
    ):
        self.store = store
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.backoff = backoff
        self.batch_size = batch_size
        #: claimed rows are the relay's for this long, renewed by ``renew_leases`` while it
        #: works; without a renewal it starts no delivery after half of it
        self.lease = lease
        #: attempts after which a retryable failure fails the row (setting outbox_max_attempts)
        self.max_attempts = max(1, max_attempts)
        self.lane = lane or "+".join(sorted({lane_of(c) for c in self.deliverers}))
        self.lane_backoff = lane_backoff
        self.watch = LaneWatch()
        self._lock = threading.Lock()  # held ids and their lease, shared with the lease-keeper
        self._held: set[int] = set()
        self._leased_until: datetime | None = None
        self._unreachable = 0  # receiver out of reach this many times in a row
        self._pause = 0.0

    # -- the lane's thread ---------------------------------------------------------------------
    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Deliver one batch of due rows; returns how many were delivered."""
        started = self.clock()
        rows = self.store.claim_due(self.deliverers, started, self.batch_size, self.lease)
        if not rows:
            self.watch.idle()
            return 0
        with self._lock:
            self._held = {r.id for r in rows}
            self._leased_until = started + self.lease
        sent = 0
        blocked: set[tuple[str, str]] = set()
        try:
            for index, row in enumerate(rows):
                if should_stop() or not self._lease_safe():
                    self._finish([r.id for r in rows[index:]], self.store.release, self.clock())
                    break
                key = (row.channel, row.ordering_key) if row.ordering_key else None
                if key in blocked:  # an earlier row of its key failed in this batch
                    self._finish([row.id], self.store.release, self.clock())
                    continue
                outcome = self._deliver(row)
                if outcome is Outcome.SENT:
                    sent += 1
                elif outcome is Outcome.UNREACHABLE:
                    self._finish(
                        [r.id for r in rows[index + 1 :]], self.store.release, self.clock()
                    )
                    break
                elif key is not None:
                    blocked.add(key)
        finally:
            with self._lock:  # a database error: the leases run out, the rows come back
                self._held.clear()
                self._leased_until = None
        return sent

    def take_pause(self) -> float:
        """Seconds the lane should wait before its next pass (its receiver was out of reach);
        0 otherwise. Read once: the worker calls it after each pass."""
        pause, self._pause = self._pause, 0.0
        return pause

    def _lease_safe(self) -> bool:
        with self._lock:
            until = self._leased_until
        return until is None or self.clock() < until - self.lease / 2

    def _finish(
        self, ids: list[int], record: Callable[[list[int], datetime], object], at: datetime
    ) -> None:
        """Record what became of rows in hand and stop renewing them, under the lease-keeper's
        lock: a renewal never lands on a row just marked."""
        if not ids:
            return
        with self._lock:
            record(ids, at)
            self._held.difference_update(ids)

    def _deliver(self, row: OutboxRow) -> Outcome:
        bound = log.bind(
            message_id=row.message_id,
            channel=row.channel,
            destination=row.destination,
            attempt=row.attempts + 1,
        )
        try:
            self.deliverers[row.channel].deliver(row)
        except UnreachableError as exc:
            # counted, but never given up for: the receiver, not the message, is the problem;
            # tried again after the lane's pause at the latest, so an outage's end is seen soon
            self._unreachable += 1
            pause = self._pause = self.lane_backoff.delay(self._unreachable)
            error = f"{type(exc).__name__}: {exc.message}"
            self.watch.failed(error)
            log.warning(
                "outbox.lane_backing_off",
                lane=self.lane,
                message_id=row.message_id,
                error=error,
                retry_in=round(pause, 3),
                times=self._unreachable,
            )
            delay = min(self.backoff.delay(row.attempts + 1), self.lane_backoff.maximum)
            due = self.clock() + timedelta(seconds=delay)
            self._finish([row.id], lambda ids, at: self.store.mark_retry(ids[0], error, at), due)
            return Outcome.UNREACHABLE
        except PermanentDeliveryError as exc:
            bound.error("outbox.delivery_refused", error=exc.message)
            refused = f"refused: {exc.message}"
            self._finish(
                [row.id], lambda ids, at: self.store.mark_failed(ids[0], refused, at), self.clock()
            )
            self._unreachable = 0
            self.watch.settled()
            return Outcome.FAILED
        except Exception as exc:
            self._unreachable = 0
            message = exc.message if isinstance(exc, RetryableDeliveryError) else repr(exc)
            error = f"{type(exc).__name__}: {message}"
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                bound.error("outbox.delivery_given_up", error=error, attempts=attempts)
                gave_up = f"gave up after {attempts} attempts: {error}"
                self._finish(
                    [row.id],
                    lambda ids, at: self.store.mark_failed(ids[0], gave_up, at),
                    self.clock(),
                )
                self.watch.settled()
                return Outcome.FAILED
            delay = self.backoff.delay(attempts)
            bound.warning("outbox.delivery_failed", error=error, retry_in=round(delay, 3))
            self.watch.failed(error)
            due = self.clock() + timedelta(seconds=delay)
            self._finish([row.id], lambda ids, at: self.store.mark_retry(ids[0], error, at), due)
            return Outcome.FAILED
        self._unreachable = 0
        self._finish([row.id], self.store.mark_sent, self.clock())
        self.watch.sent()
        bound.info("outbox.delivered")
        return Outcome.SENT

    # -- the lease-keeper's thread -------------------------------------------------------------
    def renew_leases(self) -> int:
        """Extend the lease of the rows in hand to now + lease; how many were renewed. Raises
        what the store raises (the database out of reach): the relay then stops in time."""
        with self._lock:
            if not self._held:
                return 0
            now = self.clock()
            renewed = self.store.renew(sorted(self._held), now + self.lease)
            self._leased_until = now + self.lease
            return renewed

    def close(self) -> None:
        """Close deliverers that hold connections (called from the relay's own thread)."""
        for deliverer in self.deliverers.values():
            close = getattr(deliverer, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.warning("outbox.deliverer_close_failed", exc_info=True)
