"""The sealing step as a background worker of ``cites-connector serve`` (audit_ledger.py).

Every ``audit_seal_seconds`` it links the ledger audit rows written since the last seal
into the chain; the first pass after start looks at every row (a row that committed late
while the process was down is sealed then). Several ``serve`` processes may each run one:
sealers take turns on an advisory lock, and a pass finding nothing new costs one query.
A row the sealer cannot vouch for stops sealing and is logged as an error on every pass, so
monitoring sees it until an administrator has looked (``audit verify`` names it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Engine

from cites_connector.adapters.sql.audit_checks import seal_ledger

log = structlog.get_logger(__name__)


class AuditSealWorker:
    name = "audit-sealer"

    def __init__(self, engine: Engine, *, interval: float, clock: Callable[[], datetime]):
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the audit sealer is already running")
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

    def run_once(self, *, full: bool = False) -> None:
        done = seal_ledger(self.engine, full=full, clock=self.clock)
        if done.rows:
            log.info("audit.sealed", rows=len(done.rows), position=done.position, head=done.head)
        if done.problem is not None:
            log.error("audit.seal_stopped", row=done.stopped_at, problem=done.problem)

    def _run(self) -> None:
        full = True
        while not self._stop.is_set():
            try:
                self.run_once(full=full)
                full = False
            except Exception as exc:
                log.warning("audit.seal_failed", error=getattr(exc, "message", repr(exc)))
            self._stop.wait(self.interval)
