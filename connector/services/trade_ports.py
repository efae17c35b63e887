"""The repository of trade suspensions and export quotas, inside the ledger's unit of work
(``uow.trade``; services/ports.py): a quota is counted in the transaction of the write-off,
and an administrator's change is stored with its audit record, or neither happens.

Locks (the order of ports.py, extended): a deciding transaction locks the quota rows it may
count against after the declaration and permit locks, in ascending row order, so that two
transactions never wait on each other in a circle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from cites_connector.domain.decisions import QuotaCharge
from cites_connector.domain.trade_controls import ExportQuota, Suspension


class ProposalStatus(str, Enum):
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Proposal:
    """A Species+ import waiting for a second person (four eyes, like an HS table draft):
    the entries as read from the file (trade_records.py), applied only when approved."""

    kind: str  # "suspensions" or "quotas"
    source: str
    reason: str
    entries: tuple[dict[str, Any], ...]
    skipped: tuple[str, ...]
    proposed_by: str
    proposed_at: datetime
    status: ProposalStatus = ProposalStatus.PROPOSED
    decided_by: str | None = None
    number: int | None = None


class TradeControlRows(ABC):
    # -- suspensions --------------------------------------------------------------------------

    @abstractmethod
    def suspensions(
        self,
        *,
        removed: bool = False,
        on: date | None = None,
        countries: Collection[str] | None = None,
    ) -> list[Suspension]:
        """The suspensions in the table, oldest first; ``removed`` adds those removed, ``on``
        keeps those in force that day, ``countries`` those of these Parties (what a
        decision needs: a clearance reads a few rows, however long the table)."""

    @abstractmethod
    def add_suspension(self, suspension: Suspension, actor: str, at: datetime) -> int:
        """Store a suspension; returns its number."""

    @abstractmethod
    def remove_suspension(self, number: int, actor: str, at: datetime) -> Suspension | None:
        """Take a suspension out of force (the row stays, marked removed); None if there is
        no such suspension in force."""

    # -- quotas -------------------------------------------------------------------------------

    @abstractmethod
    def quotas(self, *, year: int | None = None) -> list[ExportQuota]:
        """The quotas with what each has used, by year, taxon and term."""

    def in_force(
        self, on: date, countries: Collection[str]
    ) -> tuple[list[Suspension], list[ExportQuota]]:
        """What an export's decision reads: ``suspensions(on=on, countries=countries)``, then
        ``quotas(year=on.year)`` (together where the database allows: issue 14)."""
        return self.suspensions(on=on, countries=countries), self.quotas(year=on.year)

    def expect_in_force(self, on: date) -> None:  # noqa: B027 - a hint: doing nothing is correct
        """``in_force(on, ...)`` (or ``suspensions(on=on, ...)``) will be asked in this
        transaction: its rows may be read with the next statement (issue 14)."""

    @abstractmethod
    def lock_quotas(self, numbers: Iterable[int]) -> list[ExportQuota]:
        """The quotas read afresh and held until the transaction ends (PostgreSQL: row locks,
        taken in ascending order; SQLite: its writer lock holds them already)."""

    @abstractmethod
    def set_quota(self, quota: ExportQuota, actor: str, at: datetime) -> ExportQuota | None:
        """Store a quota, replacing the one with the same country, taxon, year and term (what
        it has used is kept); returns the replaced one, or None."""

    @abstractmethod
    def charge(self, charge: QuotaCharge, declaration_id: str, version: int, at: datetime) -> bool:
        """Count a charge against its quota, only while it stays within the quota (unless the
        charge may pass it); False when another writer used the room first."""

    @abstractmethod
    def give_back(self, declaration_id: str, at: datetime) -> Sequence[tuple[int, Decimal]]:
        """Reverse every active charge of a declaration (amendment, cancellation): returns
        (quota number, quantity) for each."""

    @abstractmethod
    def charges_of(self, declaration_id: str) -> Sequence[tuple[int, Decimal]]:
        """(quota number, quantity) of each active charge of a declaration, changing nothing:
        what an impact preview gives back in memory before deciding it again."""

    # -- imports waiting for approval ---------------------------------------------------------

    @abstractmethod
    def propose(self, proposal: Proposal) -> int:
        """Store a proposed import; returns its number."""

    @abstractmethod
    def proposals(self, kind: str) -> list[Proposal]:
        """The proposed imports of a kind, newest first."""

    @abstractmethod
    def proposal(self, number: int) -> Proposal | None:
        """One proposed import, held against a concurrent approval until the transaction ends."""

    @abstractmethod
    def close_proposal(self, number: int, status: ProposalStatus, actor: str, at: datetime) -> bool:
        """Approve or reject a proposal still PROPOSED; False when it no longer is."""
