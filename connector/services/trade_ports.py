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
from datetime import date, datetime
from decimal import Decimal

from cites_connector.domain.decisions import QuotaCharge
from cites_connector.domain.trade_controls import ExportQuota, Suspension


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
