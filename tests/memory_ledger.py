"""An in-memory ledger for unit tests of the services: the same units of work and repositories
(services/ports.py), dicts instead of SQL.

A transaction works on a copy of the state and swaps it in on commit, so a failing
transaction changes nothing, as with the database. Usages and declarations are in
tests/memory_declarations.py, the HS table administration's repositories (versions, drafts,
its audit log) in tests/memory_hs.py. The outbox turns events into the same rows
as the SQL ledger (mappings/outbox_messages.py). The stateful test in
tests/integration/test_ledger_properties.py checks that it behaves like the SQL ledger.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from cites_connector.domain.events import Event
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.mappings.outbox_messages import OutboxMessage, messages_for, rows_for
from cites_connector.services import ports
from cites_connector.services.ports import DuplicateDecision, InboxEntry, Ledger, UnitOfWork
from tests.memory_declarations import MemoryDeclarations, MemoryUsages
from tests.memory_hs import HsState, MemoryAdminAuditTrail, MemoryHsDrafts, MemoryHsTableVersions
from tests.memory_trade import MemoryTradeControls, TradeState


@dataclass
class State:
    permits: dict[tuple[str, str], Permit] = field(default_factory=dict)
    usages: dict[str, Usage] = field(default_factory=dict)
    decisions: dict[tuple[str, int], StoredDecision] = field(default_factory=dict)
    latest: dict[str, tuple[int, DeclarationState]] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    audit: list[tuple[str, str, str, dict]] = field(default_factory=list)
    inbox: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    pending_status: dict[tuple[str, str], PermitStatusChange] = field(default_factory=dict)
    hs: HsState = field(default_factory=HsState)
    trade: TradeState = field(default_factory=TradeState)

    def copy(self) -> State:
        """A working copy for one transaction. Shallow copies suffice: every value is a frozen
        dataclass or a tuple, and the repositories below change the state only by putting new
        values into these maps and lists, never by changing a value in place. (A deep copy
        made each transaction's cost grow with the history: the state machine test took 500 s.)
        """
        return State(
            permits=dict(self.permits),
            usages=dict(self.usages),
            decisions=dict(self.decisions),
            latest=dict(self.latest),
            outbox=list(self.outbox),
            audit=list(self.audit),
            inbox=dict(self.inbox),
            pending_status=dict(self.pending_status),
            hs=self.hs.copy(),
            trade=self.trade.copy(),
        )


class MemoryPermits(ports.Permits, ports.Balances):
    def __init__(self, state: State):
        self.s = state

    def numbered(self, permit_number: str) -> list[Permit]:
        return [p for (n, _), p in self.s.permits.items() if n == permit_number]

    def get(self, permit_number: str, issuing_country: str) -> Permit | None:
        return self.s.permits.get((permit_number, issuing_country))

    def lock(self, permit_numbers: Iterable[str]) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def lock_number(self, permit_number: str) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def save(self, permit: Permit) -> None:
        self.s.permits[permit.key] = permit

    def set_status(self, change: PermitStatusChange) -> None:
        key = (change.permit_number, change.issuing_country)
        self.s.permits[key] = replace(
            self.s.permits[key],
            status=change.status,
            version=change.version,
            content_version=self.s.permits[key].content_version,
        )

    def _replace_line(self, key, letter, remaining: Decimal) -> None:
        permit = self.s.permits[key]
        lines = tuple(
            replace(ln, remaining=remaining) if ln.line == letter else ln for ln in permit.lines
        )
        self.s.permits[key] = replace(permit, lines=lines)

    def draw(self, permit_number, issuing_country, line, amount) -> bool:
        key = (permit_number, issuing_country)
        current = self.s.permits[key].line(line)
        if current is None or current.remaining < amount:
            return False
        self._replace_line(key, line, current.remaining - amount)
        return True

    def give_back(self, permit_number, issuing_country, line, amount) -> Decimal:
        key = (permit_number, issuing_country)
        current = self.s.permits[key].line(line)
        remaining = min(current.quantity, current.remaining + amount)
        self._replace_line(key, line, remaining)
        return remaining

    def mark_used(self, permit_number, issuing_country, declaration_id) -> bool:
        key = (permit_number, issuing_country)
        permit = self.s.permits[key]
        if permit.used_by not in (None, declaration_id):
            return False
        self.s.permits[key] = replace(permit, used_by=declaration_id)
        return True

    def release_use(self, permit_number, issuing_country, declaration_id) -> None:
        key = (permit_number, issuing_country)
        if self.s.permits[key].used_by == declaration_id:
            self.s.permits[key] = replace(self.s.permits[key], used_by=None)


class MemoryEarlyStatuses(ports.EarlyStatuses):
    def __init__(self, state: State):
        self.s = state

    def keep(self, change: PermitStatusChange) -> None:
        self.s.pending_status[(change.permit_number, change.issuing_country)] = change

    def take(self, permit_number, issuing_country):
        return self.s.pending_status.pop((permit_number, issuing_country), None)

    def peek(self, permit_number, issuing_country):
        return self.s.pending_status.get((permit_number, issuing_country))


class MemoryInbox(ports.Inbox):
    def __init__(self, state: State):
        self.s = state

    def entry(self, message_id: str) -> InboxEntry | None:
        found = self.s.inbox.get(message_id)
        return None if found is None else InboxEntry(message_id, found[2])

    def record(
        self,
        message_id: str,
        source: str,
        outcome: str,
        at: datetime,
        body_digest: str | None = None,
    ) -> None:
        if message_id in self.s.inbox:
            raise DuplicateDecision(f"message {message_id} applied already")
        self.s.inbox[message_id] = (source, outcome, body_digest)


class MemoryOutbox(ports.Outbox):
    def __init__(self, state: State):
        self.s = state

    def _taken(self, message: OutboxMessage) -> bool:
        return any(m.message_id == message.message_id for m in self.s.outbox)

    def record(self, events: Sequence[Event], at: datetime) -> None:
        for message in rows_for(events):
            if self._taken(message):  # the outbox table's unique message id
                raise ValueError(f"duplicate outbox message id {message.message_id}")
            self.s.outbox.append(message)

    def record_once(self, event: Event, at: datetime) -> bool:
        messages = messages_for(event)
        if any(self._taken(m) for m in messages):
            return False
        self.s.outbox.extend(messages)
        return True


class MemoryAuditTrail(ports.AuditTrail):
    def __init__(self, state: State):
        self.s = state

    def record(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None:
        self.s.audit.append((actor, action, subject, details))


class MemoryUnitOfWork(UnitOfWork):
    def __init__(self, state: State):
        self.state = state
        permits = MemoryPermits(state)
        self.permits = permits
        self.balances = permits
        self.early_statuses = MemoryEarlyStatuses(state)
        self.usages = MemoryUsages(state)
        self.declarations = MemoryDeclarations(state)
        self.inbox = MemoryInbox(state)
        self.outbox = MemoryOutbox(state)
        self.audit = MemoryAuditTrail(state)
        self.hs_tables = MemoryHsTableVersions(state.hs)
        self.hs_drafts = MemoryHsDrafts(state.hs)
        self.admin_audit = MemoryAdminAuditTrail(state.hs)
        self.trade = MemoryTradeControls(state.trade)


class MemoryLedger(Ledger):
    def __init__(self) -> None:
        self.state = State()
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[MemoryUnitOfWork]:
        with self._lock:
            working = self.state.copy()
            yield self.unit_of_work(working)
            self.state = working

    @contextmanager
    def snapshot(self) -> Iterator[MemoryUnitOfWork]:
        with self._lock:
            yield self.unit_of_work(self.state.copy())

    def unit_of_work(self, state: State) -> MemoryUnitOfWork:
        """The repositories on ``state`` (a test may hand out a faulty one)."""
        return MemoryUnitOfWork(state)
