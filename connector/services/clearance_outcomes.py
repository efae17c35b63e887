"""What a clearance gives back (``ClearanceService``, clearance.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cites_connector.domain.decisions import Decision
from cites_connector.domain.errors import DeclarationCancelled, StaleVersion
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage


@dataclass(frozen=True)
class ClearanceOutcome:
    decision: Decision
    #: True when the same (declaration id, version) was decided before: nothing was written
    repeated: bool = False


def repeat_of(latest: StoredDecision, declaration_id: str, version: int) -> ClearanceOutcome | None:
    """What a request for ``version`` gets when ``latest`` is stored: the stored decision for
    the same version (a repeat), None for a newer one (an amendment); an older version is
    ``StaleVersion``, the same version cancelled ``DeclarationCancelled``."""
    stored = latest.decision.version
    if version < stored:
        raise StaleVersion(
            f"declaration {declaration_id} version {version} is older "
            f"than version {stored} decided already"
        )
    if version == stored and latest.state is DeclarationState.CANCELLED:
        raise DeclarationCancelled(
            f"declaration {declaration_id} version {version} was cancelled; its "
            f"write-offs were given back: send version {version + 1} to declare "
            f"the goods again"
        )
    return ClearanceOutcome(latest.decision, repeated=True) if version == stored else None


class _LookUpFirst(Exception):
    """Cited permits the ledger lacks: the transaction is rolled back, they are asked for
    (no lock held meanwhile), and the declaration is decided again."""

    def __init__(self, unknown: list[str]):
        super().__init__(unknown)
        self.unknown = unknown


class _LockOthers(Exception):
    """The permits locked ahead (``Permits.lock_ahead``) are not all an amendment needs: the
    transaction is rolled back and the declaration decided again, its permits locked once its
    latest decision is read."""


@dataclass(frozen=True)
class RestoredUsage:
    usage: Usage
    remaining_after: Decimal
