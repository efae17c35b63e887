"""What a clearance gives back (``ClearanceService``, clearance.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cites_connector.domain.decisions import Decision
from cites_connector.domain.usages import Usage


@dataclass(frozen=True)
class ClearanceOutcome:
    decision: Decision
    #: True when the same (declaration id, version) was decided before: nothing was written
    repeated: bool = False


class _LookUpFirst(Exception):
    """Cited permits the ledger lacks: the transaction is rolled back, they are asked for
    (no lock held meanwhile), and the declaration is decided again."""

    def __init__(self, unknown: list[str]):
        super().__init__(unknown)
        self.unknown = unknown


@dataclass(frozen=True)
class RestoredUsage:
    usage: Usage
    remaining_after: Decimal
