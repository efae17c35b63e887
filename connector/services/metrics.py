"""What the clearance service reports for monitoring, as a port (issue 14).

The core knows nothing of Prometheus (import-linter keeps I/O libraries out of it): it says
what happened through this small protocol, and ``cites-connector serve`` passes the adapter
that counts it (``cites_connector.adapters.metrics``). Everything else (SOAP latency, permit
events, the outbox) is measured at the edges, where it happens. The default does nothing, so
the CLI and the tests built on the in-memory ledger need no monitoring.
"""

from __future__ import annotations

from typing import Protocol


class ClearanceMetrics(Protocol):
    def write_off_committed(self, seconds: float) -> None:
        """One clearance transaction (lock, decide, write off, store) committed in
        ``seconds``: the time a declaration holds its permits' locks."""


class NoMetrics:
    def write_off_committed(self, seconds: float) -> None:
        pass


NO_METRICS: ClearanceMetrics = NoMetrics()
