"""The relay as a background worker of ``cites-connector serve`` (built by cites_connector.app).

It polls: the outbox is a table, and a poll every half second costs one indexed query,
while it needs no coupling between the transaction that writes a row and the thread that
sends it. ``wake()`` lets a caller that just committed rows skip the wait. Deliverers are
used and closed in the worker's own thread (pika connections are not thread-safe).
"""

from __future__ import annotations

import threading

import structlog

from cites_connector.adapters.outbox.relay import OutboxRelay

log = structlog.get_logger(__name__)


class RelayWorker:
    name = "outbox-relay"

    def __init__(
        self, relay: OutboxRelay, *, poll_interval: float = 0.5, max_error_delay: float = 30.0
    ):
        self.relay = relay
        self.poll_interval = poll_interval
        self.max_error_delay = max_error_delay
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the outbox relay is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        log.info("outbox.relay_started", channels=sorted(self.relay.deliverers))

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the delivery in hand, give the rest of the batch back, then return."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("outbox.relay_stop_timeout", timeout=timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        error_delay = self.poll_interval
        try:
            while not self._stop.is_set():
                try:
                    delivered = self.relay.run_once(self._stop.is_set)
                except Exception:
                    log.warning("outbox.relay_pass_failed", retry_in=error_delay, exc_info=True)
                    self._pause(error_delay)
                    error_delay = min(error_delay * 2, self.max_error_delay)
                    continue
                error_delay = self.poll_interval
                if delivered == 0:
                    self._pause(self.poll_interval)
        finally:
            self.relay.close()
            log.info("outbox.relay_stopped")

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()
