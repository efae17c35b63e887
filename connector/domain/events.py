"""What happened in the ledger that the outside world is to hear of (contract 3.2, 3.4, 4).

A service records these in its unit of work, in the transaction of the change they report;
the adapters turn each into the messages it means (``mappings/outbox_messages.py``): a usage
report on ``cites.usage``, a notification to the declarant's broker, a ``SubmitControlResult``
callback to customs. Each event has a stable ``event_id``, which becomes its message id, so
a receiver can drop repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from cites_connector.domain.decisions import Decision, Reason
from cites_connector.domain.usages import Usage


@dataclass(frozen=True)
class UsageRecorded:
    """A quantity written off a permit line: the electronic endorsement."""

    usage: Usage

    @property
    def event_id(self) -> str:
        return self.usage.usage_id


@dataclass(frozen=True)
class UsageReversed:
    """A write-off given back (amendment or cancellation)."""

    usage: Usage
    remaining_after: Decimal
    reversed_at: datetime

    @property
    def event_id(self) -> str:
        return f"{self.usage.usage_id}:reversed"


@dataclass(frozen=True)
class DeclarationDecided:
    """A declaration decided, amended, released or cancelled: its declarant is told.

    ``how`` is ``decided``, ``amended``, ``released`` or ``cancelled``. ``payload`` is
    ``decision_to_dict(decision)`` when the service built it already (it is built once per
    decision: stored, sent and audited).
    """

    event_id: str
    decision: Decision
    how: str
    payload: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DeclarationReleased:
    """A held declaration cleared without a call from customs (a permit arrived): customs is
    called back with the new decision (contract 4)."""

    event_id: str
    decision: Decision
    payload: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PermitWithdrawn:
    """A permit a clearance drew on was cancelled or suspended afterwards: the clearance
    stands, and customs is told (``reason``) so that goods not yet released may be stopped."""

    event_id: str
    decision: Decision
    reason: Reason


Event = UsageRecorded | UsageReversed | DeclarationDecided | DeclarationReleased | PermitWithdrawn
