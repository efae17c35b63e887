"""The ledger port: what the services need from storage, named by role, not technology.

One ``LedgerSession`` is one database transaction. Every move that could break an invariant
under concurrency is conditional (``draw`` refuses to go below zero, ``mark_used`` refuses a
permit another declaration used, ``reverse_usage`` reverses once, a declaration's state moves
only from the state it was read in) and reports whether it happened, so that two connector
processes sharing one database stay correct (contract 8).

Locks, always in this order so that no two transactions wait on each other in a circle: first
the one declaration a transaction changes (``lock_declaration``), then every permit number it
reads or changes, all in one ``lock_permits`` call. A transaction that changes permits but no
declaration (a permit event) takes only the permit locks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.services.messages import OutboxMessage


class DuplicateDecision(Exception):
    """Another transaction stored a decision for the same (declaration id, version) first."""


@dataclass(frozen=True)
class InboxEntry:
    """A message applied before: its id and the digest of what it carried (None for rows
    recorded before digests were kept, or by a caller that had no body)."""

    message_id: str
    body_digest: str | None


class StateChanged(Exception):
    """A declaration was not in the state (or version) it was read in: another transaction
    changed it. The transaction is rolled back and retried on what is stored now."""


class LedgerSession(ABC):
    # -- permits ------------------------------------------------------------------------------
    @abstractmethod
    def permits_numbered(self, permit_number: str) -> list[Permit]: ...

    @abstractmethod
    def get_permit(self, permit_number: str, issuing_country: str) -> Permit | None: ...

    @abstractmethod
    def lock_permits(self, permit_numbers: Iterable[str]) -> None:
        """Hold the permit numbers against concurrent changes until the transaction ends, also
        numbers of permits not received yet (a permit event then waits for a decision citing
        it, and the decision sees the permit or is seen by the event's release). Called once
        per transaction, with every number, after ``lock_declaration``."""

    @abstractmethod
    def lock_permit_number(self, permit_number: str) -> None:
        """Hold off every other writer of this permit number until the transaction ends,
        whether the permit is stored yet or not (its events arrive in any order)."""

    @abstractmethod
    def save_permit(self, permit: Permit) -> None:
        """Insert or replace a permit with its lines, keeping ``remaining`` and ``used_by``."""

    @abstractmethod
    def set_permit_status(self, change: PermitStatusChange) -> None: ...

    @abstractmethod
    def keep_pending_status(self, change: PermitStatusChange) -> None:
        """Remember a status event for a permit not received yet, replacing the one kept
        (the service decides which to keep: permit_store._to_keep)."""

    @abstractmethod
    def take_pending_status(
        self, permit_number: str, issuing_country: str
    ) -> PermitStatusChange | None:
        """The remembered status event of a permit, removed from the store."""

    @abstractmethod
    def pending_status(self, permit_number: str, issuing_country: str) -> PermitStatusChange | None:
        """The remembered status event of a permit, left in the store."""

    # -- write-offs -------------------------------------------------------------------------------
    @abstractmethod
    def draw(self, permit_number: str, issuing_country: str, line: str, amount: Decimal) -> bool:
        """Take ``amount`` from the line only if that many remain; False if not."""

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

    @abstractmethod
    def add_usages(self, usages: Sequence[Usage]) -> None:
        """Several usages at once (one statement); DuplicateDecision if one exists already."""

    @abstractmethod
    def reverse_usage(self, usage_id: str, at: datetime) -> bool:
        """Mark a usage reversed exactly once; False if it already was."""

    @abstractmethod
    def usages(
        self,
        *,
        declaration_id: str | None = None,
        permit: tuple[str, str] | None = None,
        active_only: bool = True,
    ) -> list[Usage]: ...

    # -- declarations -------------------------------------------------------------------------------
    @abstractmethod
    def lock_declaration(self, declaration_id: str) -> None:
        """Serialise every change of one declaration (check, amend, cancel, release) until the
        transaction ends; taken before any permit lock. Also for a declaration not stored yet."""

    @abstractmethod
    def latest_decision(self, declaration_id: str) -> StoredDecision | None: ...

    @abstractmethod
    def save_decision(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        """Store a decision; raises DuplicateDecision when that version exists already.

        ``payload`` is ``decision_to_dict(stored.decision)`` when the caller has built it
        already, so that it is built once per decision.
        """

    @abstractmethod
    def replace_decision(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
        """Store a new decision for a version decided before (a held declaration released),
        only while that version is still the latest and in state ``expected``; False if not."""

    @abstractmethod
    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        """The held declarations (latest version) that cite a permit number."""

    def inbox_seen(self, message_id: str) -> bool:
        """True when a message with this id was applied already (idempotent consumers)."""
        return self.inbox_entry(message_id) is not None

    @abstractmethod
    def inbox_entry(self, message_id: str) -> InboxEntry | None:
        """The message applied with this id, if any."""

    @abstractmethod
    def record_inbox(
        self,
        message_id: str,
        source: str,
        outcome: str,
        at: datetime,
        body_digest: str | None = None,
    ) -> None:
        """Remember an applied message; DuplicateDecision if its id is recorded already."""

    @abstractmethod
    def set_state(
        self,
        declaration_id: str,
        state: DeclarationState,
        at: datetime,
        *,
        expected: DeclarationState,
        version: int,
    ) -> bool:
        """Move the declaration to ``state`` only from ``expected`` at ``version`` (its latest);
        False when it is not there any more."""

    # -- outbox and audit ---------------------------------------------------------------------------
    @abstractmethod
    def add_outbox(self, message: OutboxMessage, at: datetime) -> None: ...

    @abstractmethod
    def add_outbox_once(self, message: OutboxMessage, at: datetime) -> bool:
        """Add the message unless one with its id is there already (False then): a step that
        may run twice with the same deterministic message id sends it once."""

    @abstractmethod
    def add_outbox_many(self, messages: Sequence[OutboxMessage], at: datetime) -> None:
        """Several messages at once, kept in the order given (it is their delivery order)."""

    @abstractmethod
    def add_audit(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None: ...


class Ledger(ABC):
    @abstractmethod
    def transaction(self) -> AbstractContextManager[LedgerSession]:
        """A writing transaction: commits when the block ends, rolls back on an exception."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[LedgerSession]:
        """A read-only view: whatever the block does is rolled back."""
