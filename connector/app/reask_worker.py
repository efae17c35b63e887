"""The thread of ``serve`` that asks EPIX again for held declarations' permits
(services/reask.py): a round every ``tick`` seconds, each declaration asked only when its own
back-off is due. A round that fails (the ledger out of reach) is logged and the next one
starts over.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from cites_connector.adapters.background import BackgroundWorker
from cites_connector.app.application import Application
from cites_connector.app.epix_wiring import EPIX, build_reask
from cites_connector.services.reask import PermitReask

log = structlog.get_logger(__name__)


class ReaskWorker(BackgroundWorker):
    name = "epix-reask"

    def __init__(self, reask: PermitReask, *, tick: float = 5.0):
        super().__init__(tick)
        self.reask = reask

    @property
    def tick(self) -> float:
        return self.interval

    def run_pass(self) -> None:
        done = self.reask.run_once()
        if done.asked:
            log.info("permit.reask_round", waiting=done.waiting, asked=done.asked, found=done.found)

    def pass_failed(self, exc: Exception) -> None:  # the next round starts over
        log.warning("permit.reask_round_failed", error=getattr(exc, "message", repr(exc)))


def build_reask_worker(app: Application) -> ReaskWorker | None:
    """The EPIX re-ask when EPIX is asked for permits and CONNECTOR_EPIX_REASK_INTERVAL > 0."""
    lookup = app.clearance.lookup
    reask = build_reask(app.settings, app.foreign_waits, lookup, app.clearance.store_found)
    return ReaskWorker(reask, tick=min(5.0, app.settings.epix_reask_interval)) if reask else None


def epix_probe(app: Application) -> Callable[[], str]:
    """/healthz's ``epix``: reachable, unreachable, unknown (not asked yet) or not
    configured. Shown, never 503 by itself: home permits still clear without EPIX."""
    return lambda: app.service_state.word(EPIX)
