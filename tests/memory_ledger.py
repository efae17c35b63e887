"""An in-memory ledger for unit tests of the services: the same port, dicts instead of SQL.

A transaction works on a deep copy of the state and swaps it in on commit, so a failing
transaction changes nothing, as with the database. The stateful test in
tests/integration/test_ledger_properties.py checks that it behaves like the SQL ledger.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from cites_connector.domain.permits import Permit, PermitStatusChange
from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.services.messages import OutboxMessage
from cites_connector.services.ports import DuplicateDecision, InboxEntry, Ledger, LedgerSession


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


class MemoryLedgerSession(LedgerSession):
    def __init__(self, state: State):
        self.s = state

    def permits_numbered(self, permit_number: str) -> list[Permit]:
        return [p for (n, _), p in self.s.permits.items() if n == permit_number]

    def get_permit(self, permit_number: str, issuing_country: str) -> Permit | None:
        return self.s.permits.get((permit_number, issuing_country))

    def lock_permits(self, permit_numbers: Iterable[str]) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def lock_permit_number(self, permit_number: str) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def save_permit(self, permit: Permit) -> None:
        self.s.permits[permit.key] = permit

    def set_permit_status(self, change: PermitStatusChange) -> None:
        key = (change.permit_number, change.issuing_country)
        self.s.permits[key] = replace(
            self.s.permits[key],
            status=change.status,
            version=change.version,
            content_version=self.s.permits[key].content_version,
        )

    def keep_pending_status(self, change: PermitStatusChange) -> None:
        self.s.pending_status[(change.permit_number, change.issuing_country)] = change

    def take_pending_status(self, permit_number, issuing_country):
        return self.s.pending_status.pop((permit_number, issuing_country), None)

    def pending_status(self, permit_number, issuing_country):
        return self.s.pending_status.get((permit_number, issuing_country))

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

    def add_usages(self, usages: Sequence[Usage]) -> None:
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

    def reverse_usage(self, usage_id: str, at: datetime) -> bool:
        usage = self.s.usages[usage_id]
        if usage.reversed_at is not None:
            return False
        self.s.usages[usage_id] = replace(usage, reversed_at=at)
        return True

    def usages(self, *, declaration_id=None, permit=None, active_only=True) -> list[Usage]:
        found = [
            u
            for u in self.s.usages.values()
            if (declaration_id is None or u.declaration_id == declaration_id)
            and (permit is None or (u.permit_number, u.issuing_country) == permit)
            and (not active_only or u.active)
        ]
        return sorted(found, key=lambda u: (u.recorded_at, u.declaration_id, u.item_number, u.line))

    def latest_decision(self, declaration_id: str) -> StoredDecision | None:
        if declaration_id not in self.s.latest:
            return None
        version, state = self.s.latest[declaration_id]
        return replace(self.s.decisions[(declaration_id, version)], state=state)

    def save_decision(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        key = (stored.decision.declaration_id, stored.decision.version)
        if key in self.s.decisions:
            raise DuplicateDecision(str(key))
        self.s.decisions[key] = stored
        self.s.latest[key[0]] = (key[1], stored.state)

    def lock_declaration(self, declaration_id: str) -> None:
        pass  # the whole ledger is locked by MemoryLedger.transaction

    def replace_decision(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
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
            self.latest_decision(d)
            for d, (_, st) in self.s.latest.items()
            if st is DeclarationState.HELD
        ]
        return sorted(
            (f for f in found if permit_number in f.cited_permits),
            key=lambda f: (f.decided_at, f.decision.declaration_id),
        )

    def inbox_entry(self, message_id: str) -> InboxEntry | None:
        found = self.s.inbox.get(message_id)
        return None if found is None else InboxEntry(message_id, found[2])

    def record_inbox(
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

    def add_outbox(self, message: OutboxMessage, at: datetime) -> None:
        if any(m.message_id == message.message_id for m in self.s.outbox):
            raise ValueError(f"duplicate outbox message id {message.message_id}")
        self.s.outbox.append(message)

    def add_outbox_once(self, message: OutboxMessage, at: datetime) -> bool:
        if any(m.message_id == message.message_id for m in self.s.outbox):
            return False
        self.s.outbox.append(message)
        return True

    def add_outbox_many(self, messages: Sequence[OutboxMessage], at: datetime) -> None:
        for message in messages:
            self.add_outbox(message, at)

    def add_audit(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None:
        self.s.audit.append((actor, action, subject, details))


class MemoryLedger(Ledger):
    def __init__(self) -> None:
        self.state = State()
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[MemoryLedgerSession]:
        with self._lock:
            working = copy.deepcopy(self.state)
            yield MemoryLedgerSession(working)
            self.state = working

    @contextmanager
    def snapshot(self) -> Iterator[MemoryLedgerSession]:
        with self._lock:
            yield MemoryLedgerSession(copy.deepcopy(self.state))
