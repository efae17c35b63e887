"""The sealing step as a background worker of ``cites-connector serve`` (audit_ledger.py).

Every ``audit_seal_seconds`` it links the ledger audit rows written since the last seal
into the chain; the first pass after start looks at every row (a row that committed late
while the process was down is sealed then). Several ``serve`` processes may each run one:
sealers take turns on an advisory lock, and a pass finding nothing new costs one query.
A row the sealer cannot vouch for stops sealing and is logged as an error on every pass, so
monitoring sees it until an administrator has looked (``audit verify`` names it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Engine

from cites_connector.adapters.background import BackgroundWorker
from cites_connector.adapters.sql.audit_checks import seal_ledger

log = structlog.get_logger(__name__)


class AuditSealWorker(BackgroundWorker):
    name = "audit-sealer"
    first_pass_at_once = True

    def __init__(self, engine: Engine, *, interval: float, clock: Callable[[], datetime]):
        super().__init__(interval)
        self.engine = engine
        self.clock = clock
        self._full = True

    def start(self) -> None:
        if not self.running:
            self._full = True  # each start looks at every row first
        super().start()

    def run_once(self, *, full: bool = False) -> None:
        done = seal_ledger(self.engine, full=full, clock=self.clock)
        if done.rows:
            log.info("audit.sealed", rows=len(done.rows), position=done.position, head=done.head)
        if done.problem is not None:
            log.error("audit.seal_stopped", row=done.stopped_at, problem=done.problem)

    def run_pass(self) -> None:
        self.run_once(full=self._full)
        self._full = False

    def pass_failed(self, exc: Exception) -> None:
        log.warning("audit.seal_failed", error=getattr(exc, "message", repr(exc)))
