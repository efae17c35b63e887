"""Usages: quantities written off permit lines, the electronic endorsement (contract 3.2).

Invariants the ledger keeps for every permit line, under any interleaving of clearances,
amendments and cancellations:  0 <= remaining <= quantity  and
quantity - remaining == sum of the line's active (not reversed) usages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from cites_connector.domain.decisions import Decision, DeclarationDecision
from cites_connector.domain.declarations import Declaration


@dataclass(frozen=True)
class Usage:
    usage_id: str
    permit_number: str
    issuing_country: str
    line: str
    declaration_id: str
    declaration_version: int
    item_number: int
    quantity: Decimal
    unit: str | None
    remaining_after: Decimal
    permit_used_up: bool
    office_code: str | None
    recorded_at: datetime
    reversed_at: datetime | None = None
    #: (v2) the electronic endorsement (contract 3.2): who cleared the declaration (the SOAP
    #: user, or ``connector`` for an automatic release), where (the office's name, else its
    #: code), the declaration date, and the quantity as the SAD declared it, in the SAD's own
    #: unit code (before conversion to the permit line's unit). Stored with the usage, so that
    #: every message about it (re-published, reversed) says the same.
    endorsed_by: str | None = None
    port: str | None = None
    exit_date: date | None = None
    declared_quantity: Decimal | None = None
    declared_unit: str | None = None

    @property
    def active(self) -> bool:
        return self.reversed_at is None


#: contract 3.2 (v2): the endorser of a usage written off by an automatic release (a held
#: declaration cleared because its permit arrived, without a call from customs)
ENDORSED_BY_CONNECTOR = "connector"


class DeclarationState(str, Enum):
    CLEARED = "CLEARED"
    HELD = "HELD"
    NOT_CONCERNED = "NOT_CONCERNED"
    CANCELLED = "CANCELLED"

    @classmethod
    def of(cls, decision: DeclarationDecision) -> DeclarationState:
        return cls(decision.value)


@dataclass(frozen=True)
class StoredDecision:
    """A decision as the ledger keeps it, with the declaration it was made on."""

    decision: Decision
    declaration: Declaration
    state: DeclarationState
    decided_at: datetime
    #: the permit numbers the declaration cites: a held one is decided again when any arrives
    cited_permits: tuple[str, ...] = ()
