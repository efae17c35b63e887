"""The in-memory ledger's usages and declarations (services/ports.py ``Usages`` and
``Declarations``), split from tests/memory_ledger.py to keep each module readable: the same
rules as the SQL ledger's (usage_rows.py, declaration_rows.py), on the transaction's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cites_connector.domain.usages import DeclarationState, StoredDecision, Usage
from cites_connector.services import ports
from cites_connector.services.ports import DuplicateDecision

if TYPE_CHECKING:
    from tests.memory_ledger import State


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

    def held_awaiting_permits(self, limit: int) -> list[StoredDecision]:
        known = {number for number, _ in self.s.permits}
        found = [
            self.latest(d) for d, (_, st) in self.s.latest.items() if st is DeclarationState.HELD
        ]
        return sorted(
            (f for f in found if f is not None and set(f.cited_permits) - known),
            key=lambda f: (f.decided_at, f.decision.declaration_id),
        )[:limit]

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
