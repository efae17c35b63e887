"""The metrics one ``serve`` process exports at ``/metrics`` (docs/operations.md, "Metrics").

Each ``ConnectorMetrics`` has its own ``CollectorRegistry``, never prometheus_client's global
one: two applications in one process (the tests build many) count apart, and nothing is
registered at import time. Counters and histograms are recorded where things happen (the
SOAP edge, the permit consumer, the customs deliverer, the clearance service through its
``ClearanceMetrics`` port); gauges that describe the shared database or the broker are read at
scrape time by the collectors of ``scrape.py``.

Label values come from short fixed sets (operation names, decision outcomes, reason codes,
``x-rejection-reason`` codes), never from request data, so a caller cannot grow the series
without bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from cites_connector.domain.decisions import Decision

PREFIX = "cites_connector"
#: SOAP answers take milliseconds; a permit lookup may wait its deadline (seconds)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: ``event`` values of cites_connector_permit_events_total: the routing key's last word
PERMIT_EVENTS = frozenset({"issued", "amended", "cancelled", "suspended", "reinstated", "lookup"})
#: ``operation`` values of cites_connector_soap_request_seconds besides the four operations
OTHER_OPERATION = "other"
#: dead-letter reasons are codes (``UNTRUSTED_PUBLISHER``), except for a message whose content
#: is invalid, whose reason is the sentence saying why: counted under this code
INVALID_REASON = "INVALID_MESSAGE"
_CODE = re.compile(r"[A-Z][A-Z_]{2,39}")


class ConnectorMetrics:
    """The counters and histograms; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self, version: str, database: str = "sqlite"):
        # no ``_created`` series: they would double every counter's and histogram's series
        # and nothing reads them (process-wide in prometheus_client; this process is serve)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self.database = database
        r = self.registry
        Gauge(f"{PREFIX}_build_info", "always 1", ["version"], registry=r).labels(version).set(1)
        self.decisions = Counter(
            f"{PREFIX}_decisions",
            "declarations decided and stored (repeats not counted)",
            ["outcome", "path"],
            registry=r,
        )
        self.reasons = Counter(
            f"{PREFIX}_decision_reasons",
            "reason codes on the decisions stored (declaration and item reasons)",
            ["reason"],
            registry=r,
        )
        self.soap = Histogram(
            f"{PREFIX}_soap_request_seconds",
            "SOAP requests by operation and outcome (ok, client_fault, server_fault)",
            ["operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.write_off = Histogram(
            f"{PREFIX}_writeoff_transaction_seconds",
            "the clearance transaction: lock, decide, write off, store, commit",
            ["database"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.permit_events = Counter(
            f"{PREFIX}_permit_events",
            "permit events consumed from cites.permits",
            ["event", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            f"{PREFIX}_permit_dead_letters",
            "permit messages dead-lettered by the connector, by x-rejection-reason",
            ["reason"],
            registry=r,
        )
        self.callback_failures = Counter(
            f"{PREFIX}_callback_failures",
            "customs callback deliveries that failed (retryable, refused)",
            ["kind"],
            registry=r,
        )
        self.lookups = Histogram(
            f"{PREFIX}_permit_lookup_seconds",
            "permit lookups of unknown permits, per permit asked",
            ["source", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- recording ----------------------------------------------------------------------------

    def decided(self, decision: Decision, path: str) -> None:
        """A decision stored, by the SOAP edge (``soap``) or a release (``release``)."""
        self.decisions.labels(decision.decision.value, path).inc()
        for code in reason_codes(decision):
            self.reasons.labels(code).inc()

    def write_off_committed(self, seconds: float) -> None:
        self.write_off.labels(self.database).observe(seconds)

    def soap_request(self, operation: str, outcome: str, seconds: float) -> None:
        self.soap.labels(operation, outcome).observe(seconds)

    def permit_event(self, routing_key: str, outcome: str, events: int = 1) -> None:
        """``events`` consumed with that routing key and outcome (a batch's, issue 14)."""
        last = routing_key.rsplit(".", 1)[-1]
        self.permit_events.labels(last if last in PERMIT_EVENTS else "other", outcome).inc(events)

    def dead_lettered(self, routing_key: str, reason: str) -> None:
        """``reason`` is the ``x-rejection-reason``: a code, or a sentence (invalid input)."""
        code = reason if _CODE.fullmatch(reason) else None
        self.permit_event(routing_key, "dead_lettered")
        self.dead_letters.labels(code or INVALID_REASON).inc()

    def callback_failed(self, kind: str) -> None:
        self.callback_failures.labels(kind).inc()

    def permit_looked_up(self, source: str, outcome: str, seconds: float) -> None:
        self.lookups.labels(source, outcome).observe(seconds)


def reason_codes(decision: Decision) -> Iterable[str]:
    """Each code once per decision: the declaration's reasons and its items'."""
    codes = {r.code.value for r in decision.reasons}
    for item in decision.items:
        codes.update(r.code.value for r in item.reasons)
    return sorted(codes)
