"""The port the HS table administration needs from storage, named by role.

One ``HsSession`` is one database transaction: a draft edit, a publication or a rollback
changes the tables *and* appends its audit record together, or neither happens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from cites_connector.domain.hs_admin import Draft, TableVersion
from cites_connector.domain.usages import StoredDecision


class HsSession(ABC):
    # -- published versions ---------------------------------------------------------------------
    @abstractmethod
    def versions(self) -> list[TableVersion]:
        """Every published version (withdrawn ones too), with rows, oldest first."""

    @abstractmethod
    def lock_timeline(self) -> None:
        """Hold off other publications until the transaction ends (one timeline, no overlap)."""

    @abstractmethod
    def add_version(self, version: TableVersion, draft_number: int | None) -> None: ...

    @abstractmethod
    def end_version(self, label: str, effective_to: date) -> None:
        """Set the last day of a version: a later version takes effect the day after."""

    @abstractmethod
    def withdraw_version(self, label: str) -> None:
        """A scheduled version replaced before it took effect: it never applies."""

    # -- drafts -----------------------------------------------------------------------------------
    @abstractmethod
    def drafts(self) -> list[Draft]:
        """Every draft with its rows, newest first."""

    @abstractmethod
    def draft(self, number: int, *, lock: bool = False) -> Draft | None: ...

    @abstractmethod
    def add_draft(self, draft: Draft) -> int:
        """Store a new draft (its ``number`` is ignored); returns the number it was given."""

    @abstractmethod
    def save_draft(self, draft: Draft) -> None:
        """Replace the draft's status, reviewers and rows."""

    # -- audit ------------------------------------------------------------------------------------
    @abstractmethod
    def audit(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        details: dict[str, Any],
        at: datetime,
    ) -> None:
        """Append to the tamper-evident administration log (who, when, what, why)."""

    # -- what the ledger recorded, for the impact preview ----------------------------------------
    @abstractmethod
    def recorded_decisions(self, since: date | None) -> list[StoredDecision]:
        """The latest decision of each declaration dated ``since`` or later."""


class HsStore(ABC):
    @abstractmethod
    def transaction(self) -> AbstractContextManager[HsSession]:
        """A writing transaction: commits when the block ends, rolls back on an exception."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[HsSession]:
        """A read-only view: whatever the block does is rolled back."""
