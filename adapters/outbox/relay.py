"""One pass of the relay: claim due rows, deliver each through its channel, record the outcome.

A row is marked sent only after its deliverer returned (the receiver has it), so a crash
between the two sends it again: at least once, with the stable ``message_id`` receivers use
to drop repeats (contract 3.2, 4). Rows of a channel with no deliverer (the customs callback
before ``CONNECTOR_CUSTOMS_URL`` is set) are never claimed: they wait, unfailed.

Nothing is retried for ever (contract 4 and 3.4, v2): a refusal (``PermanentDeliveryError``)
fails the row at once, and a row still failing after ``max_attempts`` tries fails too. A
failed row waits, shown by ``outbox status``, until an operator sends it again with
``outbox retry``; later rows of its ordering key wait behind it, so order is never broken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import structlog

from cites_connector.adapters.outbox.backoff import DEFAULT_BACKOFF, Backoff
from cites_connector.adapters.outbox.delivery import (
    Deliverer,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from cites_connector.adapters.outbox.store import OutboxRow, SqlOutboxStore

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxRelay:
    def __init__(
        self,
        store: SqlOutboxStore,
        deliverers: Mapping[str, Deliverer],
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff = DEFAULT_BACKOFF,
        batch_size: int = 100,
        lease: timedelta = timedelta(seconds=120),
        max_attempts: int = 100,
    ):
        self.store = store
        self.deliverers = dict(deliverers)
        self.clock = clock
        self.backoff = backoff
        self.batch_size = batch_size
        #: claimed rows are the relay's for this long; it stops starting deliveries of a
        #: batch after half of it, so a delivery (bounded by its own timeouts) ends in time
        self.lease = lease
        #: attempts after which a retryable failure fails the row (setting outbox_max_attempts)
        self.max_attempts = max(1, max_attempts)

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Deliver one batch of due rows; returns how many were delivered."""
        started = self.clock()
        rows = self.store.claim_due(self.deliverers, started, self.batch_size, self.lease)
        sent: list[int] = []
        blocked: set[tuple[str, str]] = set()
        try:
            for index, row in enumerate(rows):
                if should_stop() or self.clock() - started > self.lease / 2:
                    self.store.release([r.id for r in rows[index:]], self.clock())
                    break
                key = (row.channel, row.ordering_key) if row.ordering_key else None
                if key in blocked:  # an earlier row of its key failed in this batch
                    self.store.release([row.id], self.clock())
                elif self._deliver(row):
                    sent.append(row.id)
                elif key is not None:
                    blocked.add(key)
        finally:
            self.store.mark_sent(sent, self.clock())
        return len(sent)

    def _deliver(self, row: OutboxRow) -> bool:
        bound = log.bind(
            message_id=row.message_id,
            channel=row.channel,
            destination=row.destination,
            attempt=row.attempts + 1,
        )
        try:
            self.deliverers[row.channel].deliver(row)
        except PermanentDeliveryError as exc:
            bound.error("outbox.delivery_refused", error=exc.message)
            self.store.mark_failed(row.id, f"refused: {exc.message}", self.clock())
            return False
        except Exception as exc:
            message = exc.message if isinstance(exc, RetryableDeliveryError) else repr(exc)
            error = f"{type(exc).__name__}: {message}"
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                bound.error("outbox.delivery_given_up", error=error, attempts=attempts)
                self.store.mark_failed(
                    row.id, f"gave up after {attempts} attempts: {error}", self.clock()
                )
                return False
            delay = self.backoff.delay(attempts)
            bound.warning("outbox.delivery_failed", error=error, retry_in=round(delay, 3))
            self.store.mark_retry(row.id, error, self.clock() + timedelta(seconds=delay))
            return False
        bound.info("outbox.delivered")
        return True

    def close(self) -> None:
        """Close deliverers that hold connections (called from the relay's own thread)."""
        for deliverer in self.deliverers.values():
            close = getattr(deliverer, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.warning("outbox.deliverer_close_failed", exc_info=True)
