"""Trade suspensions and export quotas on SQL (the ``TradeControlRows`` port, trade_schema.py).

Counting a charge is one conditional UPDATE (``used + x <= quantity``), so a quota never goes
over however many processes clear at once; besides, a deciding transaction has locked the
quota rows it may count against (``lock_quotas``: SELECT ... FOR UPDATE on PostgreSQL, in
ascending order; SQLite serialises writers), so it decided on what is used now.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from cites_connector.adapters.sql.codec import from_micro, to_micro
from cites_connector.adapters.sql.pipeline import HeldWrites, reads_together
from cites_connector.adapters.sql.trade_reads import (
    QUOTAS_OF_YEAR,
    SUSPENSIONS_IN_FORCE,
    quota_from_row,
    suspension_from_row,
    taxon_key,
)
from cites_connector.adapters.sql.trade_schema import (
    export_quotas,
    quota_charges,
    trade_proposals,
    trade_suspensions,
)
from cites_connector.domain.decisions import QuotaCharge
from cites_connector.domain.trade_controls import ExportQuota, Suspension
from cites_connector.services.trade_ports import Proposal, ProposalStatus, TradeControlRows

_s, _q, _c, _p = trade_suspensions.c, export_quotas.c, quota_charges.c, trade_proposals.c


class SqlTradeControls(TradeControlRows):
    def __init__(self, connection: Connection, writes: HeldWrites | None = None):
        self.c = connection
        self.writes = writes
        #: ``in_force``'s two reads, sent ahead (``expect_in_force``), for that day
        self._ahead: tuple[date, list[dict[str, Any]], list[dict[str, Any]]] | None = None

    def expect_in_force(self, on: date) -> None:
        """Holding writes (a clearance on PostgreSQL): the reads go with the next round trip,
        the one that reads the declaration's latest decision (pipeline.py ``along``)."""
        if self.writes is not None and self.writes.holding:
            along = self.writes.along
            found = along(SUSPENSIONS_IN_FORCE, {"b_on": on})
            self._ahead = (on, found, along(QUOTAS_OF_YEAR, {"b_year": on.year}))

    def _read_ahead(self, on: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """The reads sent ahead for ``on``, once (None: not sent, or for another day)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != on or self.writes is None:
            return None
        self.writes.flush()  # still held: sent now
        return ahead[1], ahead[2]

    def suspensions(
        self,
        *,
        removed: bool = False,
        on: date | None = None,
        countries: Collection[str] | None = None,
    ) -> list[Suspension]:
        if not removed and on is not None and countries is not None:  # a decision's question
            wanted = set(countries)
            ahead = self._read_ahead(on)
            found = SUSPENSIONS_IN_FORCE.rows(self.c, {"b_on": on}) if ahead is None else ahead[0]
            return [suspension_from_row(r) for r in found if r["country"] in wanted]
        query = select(trade_suspensions).order_by(_s.id)
        if not removed:
            query = query.where(_s.removed_at.is_(None))
        if on is not None:
            query = query.where(_s.starts_on <= on, or_(_s.ends_on.is_(None), _s.ends_on >= on))
        if countries is not None:
            query = query.where(_s.country.in_(sorted(countries)))
        return [suspension_from_row(r) for r in self.c.execute(query).mappings()]

    def add_suspension(self, suspension: Suspension, actor: str, at: datetime) -> int:
        row: dict[str, Any] = {
            "country": suspension.country,
            "taxon": suspension.taxon,
            "flow": suspension.flow.value,
            "sources": " ".join(sorted(suspension.sources)),
            "purposes": " ".join(sorted(suspension.purposes)),
            "starts_on": suspension.starts_on,
            "ends_on": suspension.ends_on,
            "reference": suspension.reference,
            "notes": suspension.notes,
            "origin": suspension.origin,
            "added_by": actor,
            "added_at": at,
        }
        result = self.c.execute(insert(trade_suspensions).values(row).returning(_s.id))
        return int(result.scalar_one())

    def remove_suspension(self, number: int, actor: str, at: datetime) -> Suspension | None:
        found = (
            self.c.execute(
                select(trade_suspensions).where(_s.id == number, _s.removed_at.is_(None))
            )
            .mappings()
            .first()
        )
        if found is None:
            return None
        self.c.execute(
            update(trade_suspensions)
            .where(_s.id == number, _s.removed_at.is_(None))
            .values(removed_by=actor, removed_at=at)
        )
        return suspension_from_row(found)

    def in_force(
        self, on: date, countries: Collection[str]
    ) -> tuple[list[Suspension], list[ExportQuota]]:
        """Both reads in one round trip (pipeline.py), in the order of the port's own."""
        wanted = set(countries)
        found, quotas = self._read_ahead(on) or reads_together(
            self.c, [(SUSPENSIONS_IN_FORCE, {"b_on": on}), (QUOTAS_OF_YEAR, {"b_year": on.year})]
        )
        suspensions = [suspension_from_row(r) for r in found if r["country"] in wanted]
        return suspensions, [quota_from_row(r) for r in quotas]

    def quotas(self, *, year: int | None = None) -> list[ExportQuota]:
        if year is not None:
            return [quota_from_row(r) for r in QUOTAS_OF_YEAR.rows(self.c, {"b_year": year})]
        query = select(export_quotas).order_by(_q.year, _q.taxon_key, _q.term, _q.id)
        return [quota_from_row(r) for r in self.c.execute(query).mappings()]

    def lock_quotas(self, numbers: Iterable[int]) -> list[ExportQuota]:
        wanted = sorted(set(numbers))
        if not wanted:
            return []
        query = select(export_quotas).where(_q.id.in_(wanted)).order_by(_q.id).with_for_update()
        return [quota_from_row(r) for r in self.c.execute(query).mappings()]

    def set_quota(self, quota: ExportQuota, actor: str, at: datetime) -> ExportQuota | None:
        key = taxon_key(quota.taxon)
        found = (
            self.c.execute(
                select(export_quotas)
                .where(
                    _q.country == quota.country,
                    _q.taxon_key == key,
                    _q.year == quota.year,
                    _q.term == (quota.term or ""),
                )
                .with_for_update()
            )
            .mappings()
            .first()
        )
        values: dict[str, Any] = {
            "taxon": quota.taxon,
            "unit": quota.unit,
            "quantity_micro": to_micro(quota.quantity),
            "notes": quota.notes,
            "origin": quota.origin,
            "set_by": actor,
            "set_at": at,
        }
        if found is None:
            values |= {
                "country": quota.country,
                "taxon_key": key,
                "year": quota.year,
                "term": quota.term or "",
                "used_micro": to_micro(quota.used),
            }
            self.c.execute(insert(export_quotas).values(values))
            return None
        values["used_micro"] = to_micro(quota.used)
        self.c.execute(update(export_quotas).where(_q.id == found["id"]).values(values))
        return quota_from_row(found)

    def charge(self, charge: QuotaCharge, declaration_id: str, version: int, at: datetime) -> bool:
        if charge.quota_id is None:
            return False
        amount = to_micro(charge.quantity)
        counting = update(export_quotas).where(_q.id == charge.quota_id)
        if charge.within_quota:
            counting = counting.where(_q.used_micro + amount <= _q.quantity_micro)
        counted = self.c.execute(counting.values(used_micro=_q.used_micro + amount))
        if counted.rowcount != 1:
            return False
        self.c.execute(
            insert(quota_charges).values(
                quota_id=charge.quota_id,
                declaration_id=declaration_id,
                declaration_version=version,
                item_number=charge.item_number,
                quantity_micro=amount,
                recorded_at=at,
            )
        )
        return True

    def give_back(self, declaration_id: str, at: datetime) -> Sequence[tuple[int, Decimal]]:
        active = self.c.execute(
            select(_c.id, _c.quota_id, _c.quantity_micro)
            .where(_c.declaration_id == declaration_id, _c.reversed_at.is_(None))
            .order_by(_c.quota_id, _c.id)
        ).all()
        returned = []
        for charge_id, quota_id, amount in active:
            reversed_ = self.c.execute(
                update(quota_charges)
                .where(_c.id == charge_id, _c.reversed_at.is_(None))
                .values(reversed_at=at)
            )
            if reversed_.rowcount != 1:
                continue
            self.c.execute(
                update(export_quotas)
                .where(_q.id == quota_id)
                .values(used_micro=_q.used_micro - amount)
            )
            returned.append((quota_id, from_micro(amount)))
        return returned

    def charges_of(self, declaration_id: str) -> Sequence[tuple[int, Decimal]]:
        active = self.c.execute(
            select(_c.quota_id, _c.quantity_micro)
            .where(_c.declaration_id == declaration_id, _c.reversed_at.is_(None))
            .order_by(_c.quota_id, _c.id)
        ).all()
        return [(quota_id, from_micro(amount)) for quota_id, amount in active]

    # -- imports waiting for approval ---------------------------------------------------------

    def propose(self, proposal: Proposal) -> int:
        row = {
            "kind": proposal.kind,
            "source": proposal.source,
            "reason": proposal.reason,
            "entries": list(proposal.entries),
            "skipped": list(proposal.skipped),
            "proposed_by": proposal.proposed_by,
            "proposed_at": proposal.proposed_at,
            "status": proposal.status.value,
        }
        return int(
            self.c.execute(insert(trade_proposals).values(row).returning(_p.id)).scalar_one()
        )

    def proposals(self, kind: str) -> list[Proposal]:
        query = select(trade_proposals).where(_p.kind == kind).order_by(_p.id.desc())
        return [_proposal(r) for r in self.c.execute(query).mappings()]

    def proposal(self, number: int) -> Proposal | None:
        query = select(trade_proposals).where(_p.id == number).with_for_update()
        found = self.c.execute(query).mappings().first()
        return None if found is None else _proposal(found)

    def close_proposal(self, number: int, status: ProposalStatus, actor: str, at: datetime) -> bool:
        result = self.c.execute(
            update(trade_proposals)
            .where(_p.id == number, _p.status == ProposalStatus.PROPOSED.value)
            .values(status=status.value, decided_by=actor, decided_at=at)
        )
        return result.rowcount == 1


def _proposal(row: RowMapping) -> Proposal:
    return Proposal(
        kind=row["kind"],
        source=row["source"],
        reason=row["reason"],
        entries=tuple(row["entries"]),
        skipped=tuple(row["skipped"]),
        proposed_by=row["proposed_by"],
        proposed_at=row["proposed_at"],
        status=ProposalStatus(row["status"]),
        decided_by=row["decided_by"],
        number=row["id"],
    )
