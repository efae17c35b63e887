"""What becomes of a permit message (the verdicts the consumer loop carries out), and the ports
the handler works with (``permit_handler.py``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pika
from pika.spec import Basic

from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.services.permits import IncomingEvent, IntakeOutcome


@dataclass(frozen=True)
class Ack:
    """Applied (or a repeat): acknowledge the message."""

    outcome: IntakeOutcome
    #: the delivery_attempts row to delete once the verdict is on the wire
    forget: str | None = None


@dataclass(frozen=True)
class Reject:
    """Dead-letter a copy with the reason in ``x-rejection-reason``, then acknowledge."""

    reason: str
    detail: str | None = None
    forget: str | None = None


@dataclass(frozen=True)
class Requeue:
    """Give the message back to the queue (the ledger was away, or we are stopping)."""


#: what the consumer loop does with a message
Verdict = Ack | Reject | Requeue
#: one delivery as pika hands it over
Delivery = tuple[Basic.Deliver, pika.BasicProperties, bytes]


@dataclass(frozen=True)
class _Ready:
    """A first delivery, trusted and decoded: to be applied."""

    event: Permit | PermitStatusChange
    key: str
    digest: str
    publisher: str


class AttemptCount(Protocol):
    """How often a message was started and failed (``delivery_attempts``)."""

    @property
    def failed(self) -> int: ...
    @property
    def interrupted(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...


class DeliveryAttempts(Protocol):
    """Counts deliveries per message id, across redeliveries and restarts."""

    def begin(self, message_id: str) -> AttemptCount: ...
    def failed(self, message_id: str, error: str, *, counted: bool) -> AttemptCount: ...
    def forget(self, message_id: str) -> None: ...


class PermitIntake(Protocol):
    """The service that applies permit events (``PermitService``)."""

    def receive_batch(self, events: Sequence[IncomingEvent]) -> list[IntakeOutcome]: ...
    def receive_permit(
        self, permit: Permit, *, actor: str, message_id: str | None, body_digest: str | None
    ) -> IntakeOutcome: ...
    def receive_status(
        self,
        change: PermitStatusChange,
        *,
        actor: str,
        message_id: str | None,
        body_digest: str | None,
    ) -> IntakeOutcome: ...


def event_fields(outcome: IntakeOutcome) -> dict[str, Any]:
    """The log fields of one event consumed (``permit.event_consumed``)."""
    return {
        "permit_number": outcome.applied.permit_number,
        "applied": outcome.applied.applied,
        "duplicate": outcome.duplicate,
        "released": len(outcome.released),
        "reported": len(outcome.reported),
        "detail": outcome.applied.detail,
    }


def batch_fields(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The log fields of a batch's events applied (``permit.batch_consumed``, issue 14)."""
    outcomes = [v.outcome for v in verdicts if isinstance(v, Ack)]
    return {
        "events": len(outcomes),
        "applied": sum(o.applied.applied for o in outcomes),
        "duplicate": sum(o.duplicate for o in outcomes),
        "released": sum(len(o.released) for o in outcomes),
        "reported": sum(len(o.reported) for o in outcomes),
    }


def applied_label(outcome: IntakeOutcome) -> str:
    """The ``outcome`` label of an event consumed in /metrics."""
    if outcome.duplicate:
        return "duplicate"
    return "applied" if outcome.applied.applied else "ignored"


def count_batch(
    metrics: ConnectorMetrics | None, applied: Sequence[tuple[str, IntakeOutcome]]
) -> None:
    """Applied events (routing key, outcome) counted in serve's /metrics, a batch's at once per
    routing key and outcome (issue 14), with the declarations they released."""
    if metrics is None:
        return
    counted: Counter[tuple[str, str]] = Counter()
    for routing_key, outcome in applied:
        counted[routing_key, applied_label(outcome)] += 1
        for decision in outcome.released:
            metrics.decided(decision, "release")
    for (routing_key, label), events in counted.items():
        metrics.permit_event(routing_key, label, events)
