"""The thread of ``serve`` that asks EPIX again for held declarations' permits
(services/reask.py): a round every ``tick`` seconds, each declaration asked only when its own
back-off is due. A round that fails (the ledger out of reach) is logged and the next one
starts over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from cites_connector.app.application import Application
from cites_connector.app.epix_wiring import EPIX, build_reask
from cites_connector.services.reask import PermitReask

log = structlog.get_logger(__name__)


class ReaskWorker:
    name = "epix-reask"

    def __init__(self, reask: PermitReask, *, tick: float = 5.0):
        self.reask = reask
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the EPIX re-ask is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                done = self.reask.run_once()
            except Exception as exc:  # the next round starts over
                log.warning("permit.reask_round_failed", error=getattr(exc, "message", repr(exc)))
                continue
            if done.asked:
                log.info(
                    "permit.reask_round", waiting=done.waiting, asked=done.asked, found=done.found
                )


def build_reask_worker(app: Application) -> ReaskWorker | None:
    """The EPIX re-ask when EPIX is asked for permits and CONNECTOR_EPIX_REASK_INTERVAL > 0."""
    lookup = app.clearance.lookup
    reask = build_reask(app.settings, app.foreign_waits, lookup, app.clearance.store_found)
    return ReaskWorker(reask, tick=min(5.0, app.settings.epix_reask_interval)) if reask else None


def epix_probe(app: Application) -> Callable[[], str]:
    """/healthz's ``epix``: reachable, unreachable, unknown (not asked yet) or not
    configured. Shown, never 503 by itself: home permits still clear without EPIX."""
    return lambda: app.service_state.word(EPIX)
