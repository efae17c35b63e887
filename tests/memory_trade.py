"""The in-memory trade suspensions and export quotas of tests/memory_ledger.py (the
``TradeControlRows`` port, dicts instead of SQL; same conditional counting)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from cites_connector.domain.decisions import QuotaCharge
from cites_connector.domain.trade_controls import ExportQuota, Suspension
from cites_connector.services.trade_ports import Proposal, ProposalStatus, TradeControlRows


@dataclass
class TradeState:
    suspensions: dict[int, Suspension] = field(default_factory=dict)
    removed: frozenset[int] = frozenset()
    quotas: dict[int, ExportQuota] = field(default_factory=dict)
    #: (quota, declaration id, version, item, quantity, reversed)
    charges: tuple[tuple[int, str, int, int, Decimal, bool], ...] = ()
    proposals: tuple[Proposal, ...] = ()

    def copy(self) -> TradeState:
        return replace(self, suspensions=dict(self.suspensions), quotas=dict(self.quotas))


class MemoryTradeControls(TradeControlRows):
    def __init__(self, state: TradeState):
        self.s = state

    def suspensions(self, *, removed=False, on=None, countries=None) -> list[Suspension]:
        return [
            s
            for n, s in sorted(self.s.suspensions.items())
            if (removed or n not in self.s.removed)
            and (on is None or s.in_force(on))
            and (countries is None or s.country in countries)
        ]

    def add_suspension(self, suspension: Suspension, actor: str, at: datetime) -> int:
        number = max(self.s.suspensions, default=0) + 1
        self.s.suspensions[number] = replace(suspension, id=number)
        return number

    def remove_suspension(self, number: int, actor: str, at: datetime) -> Suspension | None:
        if number not in self.s.suspensions or number in self.s.removed:
            return None
        self.s.removed = self.s.removed | {number}
        return self.s.suspensions[number]

    def quotas(self, *, year: int | None = None) -> list[ExportQuota]:
        return [q for q in self.s.quotas.values() if year is None or q.year == year]

    def lock_quotas(self, numbers: Iterable[int]) -> list[ExportQuota]:
        return [self.s.quotas[n] for n in sorted(set(numbers)) if n in self.s.quotas]

    def set_quota(self, quota: ExportQuota, actor: str, at: datetime) -> ExportQuota | None:
        found = next((q for q in self.s.quotas.values() if q.key == quota.key), None)
        number = found.id if found is not None else max(self.s.quotas, default=0) + 1
        assert number is not None
        self.s.quotas[number] = replace(quota, id=number)
        return found

    def charge(self, charge: QuotaCharge, declaration_id: str, version: int, at: datetime) -> bool:
        quota = self.s.quotas.get(charge.quota_id or -1)
        if quota is None:
            return False
        if charge.within_quota and quota.used + charge.quantity > quota.quantity:
            return False
        self.s.quotas[quota.id or -1] = replace(quota, used=quota.used + charge.quantity)
        entry = (
            quota.id or -1,
            declaration_id,
            version,
            charge.item_number,
            charge.quantity,
            False,
        )
        self.s.charges = (*self.s.charges, entry)
        return True

    def give_back(self, declaration_id: str, at: datetime) -> Sequence[tuple[int, Decimal]]:
        returned, kept = [], []
        for entry in self.s.charges:
            quota_id, declaration, _, _, amount, reversed_ = entry
            if declaration == declaration_id and not reversed_:
                quota = self.s.quotas[quota_id]
                self.s.quotas[quota_id] = replace(quota, used=quota.used - amount)
                returned.append((quota_id, amount))
                entry = (*entry[:5], True)
            kept.append(entry)
        self.s.charges = tuple(kept)
        return returned

    def charges_of(self, declaration_id: str) -> Sequence[tuple[int, Decimal]]:
        return [
            (quota_id, amount)
            for quota_id, declaration, _, _, amount, reversed_ in self.s.charges
            if declaration == declaration_id and not reversed_
        ]

    def propose(self, proposal: Proposal) -> int:
        number = len(self.s.proposals) + 1
        self.s.proposals = (*self.s.proposals, replace(proposal, number=number))
        return number

    def proposals(self, kind: str) -> list[Proposal]:
        return [p for p in reversed(self.s.proposals) if p.kind == kind]

    def proposal(self, number: int) -> Proposal | None:
        return self.s.proposals[number - 1] if 0 < number <= len(self.s.proposals) else None

    def close_proposal(self, number: int, status: ProposalStatus, actor: str, at: datetime) -> bool:
        found = self.proposal(number)
        if found is None or found.status is not ProposalStatus.PROPOSED:
            return False
        closed = replace(found, status=status, decided_by=actor)
        self.s.proposals = tuple(closed if p.number == number else p for p in self.s.proposals)
        return True
