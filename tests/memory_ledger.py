"""An in-memory ledger for unit tests of the services: the same units of work and repositories
(services/ports.py), dicts instead of SQL.

A transaction works on a deep copy of the state and swaps it in on commit, so a failing
transaction changes nothing, as with the database. The outbox turns events into the same rows
as the SQL ledger (mappings/outbox_messages.py). The stateful test in
tests/integration/test_ledger_properties.py checks that it behaves like the SQL ledger.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cites_connector.domain.events import Event
from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.mappings.outbox_messages import OutboxMessage, messages_for, rows_for
from cites_connector.services import ports
from cites_connector.services.ports import DuplicateDecision, InboxEntry, Ledger, UnitOfWork
from tests.memory_trade import MemoryAdminAudit, MemoryTradeControls, TradeState


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


class MemoryUsages(ports.Usages):
    def __init__(self, state: State):
        self.s = state

    def add(self, usages: Sequence[Usage]) -> None:
        def once(u: Usage) -> tuple:  # the SQL ledger's unique constraint on usages
            return (
                u.declaration_id,
                u.declaration_version,
                u.item_number,
                u.permit_number,
                u.issuing_country,
                u.line,
            )

        taken = {once(u) for u in self.s.usages.values()}
        for usage in usages:
            if once(usage) in taken:
                raise DuplicateDecision(f"usage {once(usage)} written already")
            taken.add(once(usage))
            self.s.usages[usage.usage_id] = usage

    def reverse(self, usage_id: str, at: datetime) -> bool:
        usage = self.s.usages[usage_id]
        if usage.reversed_at is not None:
            return False
        self.s.usages[usage_id] = replace(usage, reversed_at=at)
        return True

    def find(self, *, declaration_id=None, permit=None, active_only=True) -> list[Usage]:
        found = [
            u
            for u in self.s.usages.values()
            if (declaration_id is None or u.declaration_id == declaration_id)
            and (permit is None or (u.permit_number, u.issuing_country) == permit)
            and (not active_only or u.active)
        ]
        return sorted(found, key=lambda u: (u.recorded_at, u.declaration_id, u.item_number, u.line))


class MemoryDeclarations(ports.Declarations):
    def __init__(self, state: State):
        self.s = state

    def lock(self, declaration_id: str) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def latest(self, declaration_id: str) -> StoredDecision | None:
        if declaration_id not in self.s.latest:
            return None
        version, state = self.s.latest[declaration_id]
        return replace(self.s.decisions[(declaration_id, version)], state=state)

    def save(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        key = (stored.decision.declaration_id, stored.decision.version)
        if key in self.s.decisions:
            raise DuplicateDecision(str(key))
        self.s.decisions[key] = stored
        self.s.latest[key[0]] = (key[1], stored.state)

    def replace(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
        key = (stored.decision.declaration_id, stored.decision.version)
        if self.s.latest.get(key[0]) != (key[1], expected):
            return False
        self.s.decisions[key] = replace(
            self.s.decisions[key], decision=stored.decision, decided_at=stored.decided_at
        )
        self.s.latest[key[0]] = (key[1], stored.state)
        return True

    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        found = [
            self.latest(d) for d, (_, st) in self.s.latest.items() if st is DeclarationState.HELD
        ]
        return sorted(
            (f for f in found if permit_number in f.cited_permits),
            key=lambda f: (f.decided_at, f.decision.declaration_id),
        )

    def set_state(
        self,
        declaration_id: str,
        state: DeclarationState,
        at: datetime,
        *,
        expected: DeclarationState,
        version: int,
    ) -> bool:
        if self.s.latest.get(declaration_id) != (version, expected):
            return False
        self.s.latest[declaration_id] = (version, state)
        return True

    def recorded_since(self, since: date | None) -> list[StoredDecision]:
        found = [self.latest(d) for d in self.s.latest]
        return sorted(
            (f for f in found if since is None or f.declaration.date >= since),
            key=lambda f: (f.declaration.date, f.decision.declaration_id),
        )


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
        self.trade = MemoryTradeControls(state.trade)
        self.admin_audit = MemoryAdminAudit(state.trade)


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
