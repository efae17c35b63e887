"""The unit of work and its repositories: what the services need from storage, by role.

One ``UnitOfWork`` is one database transaction, and the only owner of it: a service opens one
per request (``with ledger.transaction() as uow:``) and reaches the stored things through its
small repositories (``uow.permits``, ``uow.declarations``, ``uow.outbox`` ...). The block commits
when it ends and rolls back on an exception; database errors are translated in one place, the
adapter's transaction (``Unavailable``: nothing written; ``UnstorableValue``: the input's fault).

Every move that could break an invariant under concurrency is conditional (``draw`` refuses to
go below zero, ``mark_used`` refuses a permit another declaration used, ``reverse`` reverses
once, a declaration's state moves only from the state it was read in) and reports whether it
happened, so that two connector processes sharing one database stay correct (contract 8).

Locks, always in this order so that no two transactions wait on each other in a circle: first
the one declaration a transaction changes (``declarations.lock``), then every permit number it
reads or changes, all in one ``permits.lock`` call, then (v2) the export quotas it may count
against (``trade.lock_quotas``, in ascending order). A transaction that changes permits but no
declaration (a permit event) takes only the permit locks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cites_connector.domain.events import Event
from cites_connector.domain.permits import PermitStatusChange
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.services.hs_ports import AdminAuditTrail, HsDrafts, HsTableVersions
from cites_connector.services.permit_ports import Balances, Permits
from cites_connector.services.trade_ports import TradeControlRows

__all__ = [
    "AdminAuditTrail",
    "AuditTrail",
    "Balances",
    "Declarations",
    "DuplicateDecision",
    "EarlyStatuses",
    "HsDrafts",
    "HsTableVersions",
    "Inbox",
    "InboxEntry",
    "Ledger",
    "Outbox",
    "Permits",
    "StateChanged",
    "TradeControlRows",
    "UnitOfWork",
    "Usages",
]


class DuplicateDecision(Exception):
    """Another transaction stored a decision for the same (declaration id, version) first."""


class StateChanged(Exception):
    """A declaration was not in the state (or version) it was read in: another transaction
    changed it. The transaction is rolled back and retried on what is stored now."""


@dataclass(frozen=True)
class InboxEntry:
    """A message applied before: its id and the digest of what it carried (None for rows
    recorded before digests were kept, or by a caller that had no body)."""

    message_id: str
    body_digest: str | None


class EarlyStatuses(ABC):
    """Status events that arrived before their permit, kept for when it comes."""

    @abstractmethod
    def keep(self, change: PermitStatusChange) -> None:
        """Remember a status event for a permit not received yet, replacing the one kept
        (the service decides which to keep: permit_store._to_keep)."""

    @abstractmethod
    def take(self, permit_number: str, issuing_country: str) -> PermitStatusChange | None:
        """The remembered status event of a permit, removed from the store."""

    @abstractmethod
    def peek(self, permit_number: str, issuing_country: str) -> PermitStatusChange | None:
        """The remembered status event of a permit, left in the store."""


class Usages(ABC):
    """Write-offs: one row per permit line drawn for one declaration item."""

    @abstractmethod
    def add(self, usages: Sequence[Usage]) -> None:
        """Several usages at once (one statement); DuplicateDecision if one exists already."""

    @abstractmethod
    def reverse(self, usage_id: str, at: datetime) -> bool:
        """Mark a usage reversed exactly once; False if it already was."""

    @abstractmethod
    def find(
        self,
        *,
        declaration_id: str | None = None,
        permit: tuple[str, str] | None = None,
        active_only: bool = True,
    ) -> list[Usage]: ...


class Declarations(ABC):
    """Decisions, by (declaration id, version), and the state of each declaration."""

    @abstractmethod
    def lock(self, declaration_id: str) -> None:
        """Serialise every change of one declaration (check, amend, cancel, release) until the
        transaction ends; taken before any permit lock. Also for a declaration not stored yet."""

    @abstractmethod
    def latest(self, declaration_id: str) -> StoredDecision | None: ...

    @abstractmethod
    def save(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        """Store a decision; raises DuplicateDecision when that version exists already.
        ``payload``: ``decision_to_dict(stored.decision)`` when the caller built it already."""

    @abstractmethod
    def replace(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
        """Store a new decision for a version decided before (a held declaration released),
        only while that version is still the latest and in state ``expected``; False if not."""

    @abstractmethod
    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        """The held declarations (latest version) that cite a permit number."""

    @abstractmethod
    def held_awaiting_permits(self, limit: int) -> list[StoredDecision]:
        """At most ``limit`` held declarations (latest version, oldest decision first) citing
        a permit number the ledger holds under no issuer: those a permit lookup may still
        release (the EPIX re-ask, services/reask.py)."""

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

    @abstractmethod
    def recorded_since(self, since: date | None) -> list[StoredDecision]:
        """The latest decision of each declaration dated ``since`` or later, by date (what the
        impact preview of an HS table draft decides again)."""


class Inbox(ABC):
    """Messages applied already, by id: what makes a redelivery change nothing."""

    def seen(self, message_id: str) -> bool:
        """True when a message with this id was applied already (idempotent consumers)."""
        return self.entry(message_id) is not None

    @abstractmethod
    def entry(self, message_id: str) -> InboxEntry | None:
        """The message applied with this id, if any."""

    @abstractmethod
    def record(
        self,
        message_id: str,
        source: str,
        outcome: str,
        at: datetime,
        body_digest: str | None = None,
    ) -> None:
        """Remember an applied message; DuplicateDecision if its id is recorded already."""


class Outbox(ABC):
    """What the outside world is to hear of this transaction, sent after it commits.

    The services record domain events; the adapter turns each into the messages it means
    (usage reports, broker notifications, customs callbacks) in the same transaction.
    """

    @abstractmethod
    def record(self, events: Sequence[Event], at: datetime) -> None:
        """Several events at once, kept in the order given (it is their delivery order)."""

    @abstractmethod
    def record_once(self, event: Event, at: datetime) -> bool:
        """Record the event unless one with its id was recorded already (False then): a step
        that may run twice with the same deterministic event id sends it once."""


class AuditTrail(ABC):
    @abstractmethod
    def record(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None:
        """Append to the ledger's audit trail (who, when, what)."""


class UnitOfWork(ABC):
    """One transaction and the repositories that work inside it. The HS administration's
    (``hs_tables``, ``hs_drafts``, ``admin_audit``) change the tables and append the audit
    record together, or neither happens."""

    permits: Permits
    balances: Balances
    early_statuses: EarlyStatuses
    usages: Usages
    declarations: Declarations
    inbox: Inbox
    outbox: Outbox
    audit: AuditTrail
    hs_tables: HsTableVersions
    hs_drafts: HsDrafts
    admin_audit: AdminAuditTrail
    #: (v2) trade suspensions and export quotas (trade_ports.py)
    trade: TradeControlRows

    def hold_writes(self) -> None:  # noqa: B027 - a hint: doing nothing is correct
        """Added rows may go with the commit from here on (issue 14); they read as if sent."""


class Ledger(ABC):
    """Hands out units of work: the one owner of ledger transactions."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """A writing transaction: commits when the block ends, rolls back on an exception."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only view: whatever the block does is rolled back."""
