"""Permits and what is left on their lines: the ports ``SqlPermits`` implements (one class,
permit_rows.py), reached through the unit of work (ports.py: ``uow.permits``, ``uow.balances``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from decimal import Decimal

from cites_connector.domain.permits import Permit, PermitStatusChange


class Permits(ABC):
    """Permits as the issuing authority sent them, and their locks."""

    @abstractmethod
    def numbered(self, permit_number: str) -> list[Permit]: ...

    @abstractmethod
    def get(self, permit_number: str, issuing_country: str) -> Permit | None: ...

    @abstractmethod
    def lock(self, permit_numbers: Iterable[str]) -> None:
        """Hold the permit numbers against concurrent changes until the transaction ends, also
        numbers of permits not received yet (a permit event then waits for a decision citing
        it, and the decision sees the permit or is seen by the event's release). Called once
        per transaction, with every number, after ``declarations.lock``."""

    def lock_ahead(self, permit_numbers: Iterable[str]) -> bool:
        """Before the first read: the numbers ``lock`` will get, locked and read with it if
        the ledger can (issue 14); True if so: ``lock`` then gets these or fewer, no others."""
        return False

    @abstractmethod
    def lock_number(self, permit_number: str) -> None:
        """Hold off every other writer of this permit number until the transaction ends,
        whether the permit is stored yet or not (its events arrive in any order)."""

    @abstractmethod
    def save(self, permit: Permit) -> None:
        """Insert or replace a permit with its lines, keeping ``remaining`` and ``used_by``."""

    @abstractmethod
    def set_status(self, change: PermitStatusChange) -> None: ...


class Balances(ABC):
    """What is left on permit lines: the only moves of ``remaining`` after issue."""

    @abstractmethod
    def draw(self, permit_number: str, issuing_country: str, line: str, amount: Decimal) -> bool:
        """Take ``amount`` from the line only if that many remain; False if not."""

    def draw_all(self, draws: Sequence[tuple[str, str, str, Decimal]]) -> int | None:
        """``draw`` each (number, country, line, amount): None, or the index of one refused."""
        return next((n for n, draw in enumerate(draws) if not self.draw(*draw)), None)

    @abstractmethod
    def give_back(
        self, permit_number: str, issuing_country: str, line: str, amount: Decimal
    ) -> Decimal:
        """Return ``amount`` to the line; returns the remaining quantity after."""

    @abstractmethod
    def mark_used(self, permit_number: str, issuing_country: str, declaration_id: str) -> bool:
        """SINGLE permits: record the using declaration unless another one used it."""

    @abstractmethod
    def release_use(
        self, permit_number: str, issuing_country: str, declaration_id: str
    ) -> None: ...
