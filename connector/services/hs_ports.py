"""The repositories of the HS table administration, inside the same unit of work as the
ledger's (``uow.hs_tables``, ``uow.hs_drafts``, ``uow.admin_audit``; ``services/ports.py``):
publishing a table and appending its audit record commit together, or neither happens."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Any

from cites_connector.domain.hs_admin import Draft, TableVersion


class AdminAuditTrail(ABC):
    @abstractmethod
    def record(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        """Append to the tamper-evident administration log (who, when, what, why)."""


class HsTableVersions(ABC):
    """Published HS-to-taxon table versions: one timeline, never changed in place."""

    @abstractmethod
    def all(self) -> list[TableVersion]:
        """Every published version (withdrawn ones too), with rows, oldest first."""

    @abstractmethod
    def lock_timeline(self) -> None:
        """Hold off other publications until the transaction ends (one timeline, no overlap)."""

    @abstractmethod
    def add(self, version: TableVersion, draft_number: int | None) -> None: ...

    @abstractmethod
    def end(self, label: str, effective_to: date) -> None:
        """Set the last day of a version: a later version takes effect the day after."""

    @abstractmethod
    def withdraw(self, label: str) -> None:
        """A scheduled version replaced before it took effect: it never applies."""


class HsDrafts(ABC):
    """Drafts of HS tables under four-eyes review."""

    @abstractmethod
    def all(self) -> list[Draft]:
        """Every draft with its rows, newest first."""

    @abstractmethod
    def get(self, number: int, *, lock: bool = False) -> Draft | None: ...

    @abstractmethod
    def add(self, draft: Draft) -> int:
        """Store a new draft (its ``number`` is ignored); returns the number it was given."""

    @abstractmethod
    def save(self, draft: Draft) -> None:
        """Replace the draft's status, reviewers and rows."""
