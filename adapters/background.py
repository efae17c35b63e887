"""The thread every background worker of ``cites-connector serve`` runs: one named daemon
thread calling ``run_pass`` again and again, with a wait between passes that ``stop()`` (and
``wake()``) cut short.

A pass that raises is handed to ``pass_failed`` (which logs it once, under the worker's own
event name) and the thread goes on with the next pass after the delay ``pass_failed`` returns;
nothing a pass raises ends the thread. ``start()`` on a running worker and ``stop()`` on a
stopped one do nothing. The workers: the audit sealer (adapters/sql/audit_sealer.py), the
outbox lanes and their lease keeper (adapters/outbox/worker.py), the EPIX re-ask
(cites_connector.app.reask_worker).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

import structlog

log = structlog.get_logger(__name__)


class BackgroundWorker(ABC):
    """Subclasses write ``run_pass``; they may override ``pass_failed``, ``started`` and
    ``finished``. ``interval`` is the wait between passes unless a pass returns another;
    ``first_pass_at_once``: the first pass runs when the thread starts, not one interval later.
    """

    name = "background-worker"
    first_pass_at_once = False

    def __init__(self, interval: float, *, name: str | None = None) -> None:
        self.interval = interval
        if name is not None:
            self.name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what a worker writes ---------------------------------------------------------------------
    @abstractmethod
    def run_pass(self) -> float | None:
        """One pass; the seconds to wait before the next one (None: ``interval``, 0: none)."""

    def pass_failed(self, exc: Exception) -> float | None:
        """A pass raised ``exc``: log it; the seconds to wait before the next pass."""
        log.warning(
            "background.pass_failed", worker=self.name, error=f"{type(exc).__name__}: {exc}"
        )
        return None

    def started(self) -> None:  # noqa: B027  (a hook: nothing by default)
        """Called by ``start()`` once the thread runs."""

    def finished(self) -> None:  # noqa: B027
        """Called in the worker's thread when it ends (also when a pass let out a
        BaseException)."""

    # -- the lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self.started()

    def wake(self) -> None:
        """Cut the current wait between passes short (not a ``sleep``)."""
        self._wake.set()

    def signal_stop(self) -> None:
        """Ask the thread to stop after the pass in hand; ``stop`` waits for it."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the thread and wait for it up to ``timeout`` seconds: False when it is still
        in its pass then (a daemon thread: it does not hold the process)."""
        self.signal_stop()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- waiting ----------------------------------------------------------------------------------
    def pause(self, seconds: float) -> None:
        """Wait up to ``seconds``; ``wake()`` and ``stop()`` end the wait."""
        self._wake.wait(seconds)
        self._wake.clear()

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``, which only ``stop()`` ends; True when stopping."""
        return self._stop.wait(seconds)

    def _run(self) -> None:
        try:
            delay: float = 0.0 if self.first_pass_at_once else self.interval
            while not self._stop.is_set():
                if delay > 0:
                    self.pause(delay)
                    if self._stop.is_set():
                        break
                try:
                    wait = self.run_pass()
                except Exception as exc:
                    wait = self.pass_failed(exc)
                delay = self.interval if wait is None else wait
        finally:
            self.finished()
