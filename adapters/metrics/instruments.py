"""Wrappers that time or count a port's calls without the port knowing (issue 14).

Both keep the wrapped object's behaviour exactly: the same answers, the same exceptions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.outbox.delivery import Deliverer, PermanentDeliveryError
from cites_connector.adapters.outbox.store import OutboxRow
from cites_connector.services.permit_lookup import LookupAnswer, PermitLookupPort


class TimedPermitLookup:
    """A ``PermitLookupPort`` whose asks are timed: one observation per permit asked, with
    ``found``, ``not_found`` (the permit system does not know it), ``timeout`` (no usable
    answer by the deadline, or the broker out of reach) or ``error``."""

    def __init__(self, port: PermitLookupPort, metrics: ConnectorMetrics, *, source: str):
        self.port = port
        self.metrics = metrics
        self.source = source

    def ask(
        self, queries: Sequence[tuple[str, str | None]], timeout: float
    ) -> dict[str, LookupAnswer]:
        started = time.perf_counter()
        try:
            answers = self.port.ask(queries, timeout)
        except Exception:
            self._observe(["error"] * len(queries), started)
            raise
        outcomes = []
        for number, _issuer in queries:
            answer = answers.get(number)
            if answer is None:
                outcomes.append("timeout")
            else:
                outcomes.append("found" if answer.permit is not None else "not_found")
        self._observe(outcomes, started)
        return answers

    def _observe(self, outcomes: list[str], started: float) -> None:
        seconds = time.perf_counter() - started
        for outcome in outcomes:
            self.metrics.permit_looked_up(self.source, outcome, seconds)


class CountedCallbacks:
    """The customs callback deliverer, its failures counted: ``refused`` for good (a 4xx or
    a Client fault) or ``retryable`` (the relay tries again)."""

    def __init__(self, deliverer: Deliverer, metrics: ConnectorMetrics):
        self.deliverer = deliverer
        self.metrics = metrics

    def deliver(self, row: OutboxRow) -> None:
        try:
            self.deliverer.deliver(row)
        except PermanentDeliveryError:
            self.metrics.callback_failed("refused")
            raise
        except Exception:
            self.metrics.callback_failed("retryable")
            raise

    def close(self) -> None:
        close = getattr(self.deliverer, "close", None)
        if callable(close):
            close()
