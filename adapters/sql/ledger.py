"""SqlAlchemyLedger: the ledger port on SQLite or PostgreSQL.

Concurrency (contract 8): on PostgreSQL the cited permits are locked FOR UPDATE in a fixed
order before deciding, and every write-off is a conditional UPDATE that refuses to go below
zero, so neither a lost update nor a deadlock can happen; on SQLite writers are serialised by
BEGIN IMMEDIATE (engine.py). Connection failures surface as ``Unavailable``: nothing written.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator

from sqlalchemy import Connection, Engine, and_, case, delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from adapters.sql import tables as t
from adapters.sql.codec import (
    from_micro, line_to_row, permit_from_rows, permit_to_row, to_micro, usage_from_row,
    usage_to_row, utc,
)
from adapters.sql.engine import READ_ONLY
from connector.domain.errors import Unavailable
from connector.domain.permits import Permit, PermitStatusChange
from connector.domain.records import (
    declaration_from_dict, declaration_to_dict, decision_from_dict, decision_to_dict,
)
from connector.domain.usages import DeclarationState, StoredDecision, Usage
from connector.services.messages import OutboxMessage
from connector.services.ports import DuplicateDecision, Ledger, LedgerSession


def _permit_id(number: str, country: str):
    return (select(t.permits.c.id)
            .where(t.permits.c.permit_number == number, t.permits.c.issuing_country == country)
            .scalar_subquery())


class SqlAlchemyLedgerSession(LedgerSession):
    def __init__(self, connection: Connection):
        self.c = connection
        self.postgres = connection.dialect.name == "postgresql"

    # -- permits --------------------------------------------------------------------------------
    def _permits(self, where) -> list[Permit]:
        rows = self.c.execute(select(t.permits).where(where)).mappings().all()
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        lines = self.c.execute(select(t.permit_lines).where(t.permit_lines.c.permit_id.in_(ids)))
        by_permit: dict[int, list] = {i: [] for i in ids}
        for line in lines.mappings():
            by_permit[line["permit_id"]].append(line)
        return [permit_from_rows(r, by_permit[r["id"]]) for r in rows]

    def permits_numbered(self, permit_number: str) -> list[Permit]:
        return self._permits(t.permits.c.permit_number == permit_number)

    def get_permit(self, permit_number: str, issuing_country: str) -> Permit | None:
        found = self._permits(and_(t.permits.c.permit_number == permit_number,
                                   t.permits.c.issuing_country == issuing_country))
        return found[0] if found else None

    def lock_permits(self, permit_numbers: Iterable[str]) -> None:
        numbers = sorted(set(permit_numbers))
        if self.postgres and numbers:
            self.c.execute(select(t.permits.c.id).where(t.permits.c.permit_number.in_(numbers))
                           .order_by(t.permits.c.id).with_for_update())

    def save_permit(self, permit: Permit) -> None:
        row = permit_to_row(permit)
        existing = self.c.execute(select(t.permits.c.id).where(
            t.permits.c.permit_number == permit.permit_number,
            t.permits.c.issuing_country == permit.issuing_country)).scalar()
        if existing is None:
            existing = self.c.execute(insert(t.permits).values(row)
                                      .returning(t.permits.c.id)).scalar_one()
        else:
            self.c.execute(update(t.permits).where(t.permits.c.id == existing).values(row))
            self.c.execute(delete(t.permit_lines).where(t.permit_lines.c.permit_id == existing))
        self.c.execute(insert(t.permit_lines),
                       [line_to_row(line) | {"permit_id": existing} for line in permit.lines])

    def set_permit_status(self, change: PermitStatusChange) -> None:
        self.c.execute(update(t.permits).where(
            t.permits.c.permit_number == change.permit_number,
            t.permits.c.issuing_country == change.issuing_country,
        ).values(status=change.status.value, version=change.version,
                 status_reason=change.reason))

    # -- write-offs -------------------------------------------------------------------------------
    def _line(self, number: str, country: str, line: str):
        return and_(t.permit_lines.c.permit_id == _permit_id(number, country),
                    t.permit_lines.c.line == line)

    def draw(self, permit_number: str, issuing_country: str, line: str, amount: Decimal) -> bool:
        micro = to_micro(amount)
        result = self.c.execute(
            update(t.permit_lines)
            .where(self._line(permit_number, issuing_country, line),
                   t.permit_lines.c.remaining_micro >= micro)
            .values(remaining_micro=t.permit_lines.c.remaining_micro - micro))
        return result.rowcount == 1

    def give_back(self, permit_number: str, issuing_country: str, line: str,
                  amount: Decimal) -> Decimal:
        micro = to_micro(amount)
        col = t.permit_lines.c
        self.c.execute(update(t.permit_lines).where(
            self._line(permit_number, issuing_country, line)).values(
            remaining_micro=case((col.remaining_micro + micro > col.quantity_micro,
                                  col.quantity_micro), else_=col.remaining_micro + micro)))
        remaining = self.c.execute(select(col.remaining_micro).where(
            self._line(permit_number, issuing_country, line))).scalar()
        return from_micro(remaining or 0)

    def mark_used(self, permit_number: str, issuing_country: str, declaration_id: str) -> bool:
        p = t.permits.c
        result = self.c.execute(update(t.permits).where(
            p.permit_number == permit_number, p.issuing_country == issuing_country,
            or_(p.used_by.is_(None), p.used_by == declaration_id),
        ).values(used_by=declaration_id))
        return result.rowcount == 1

    def release_use(self, permit_number: str, issuing_country: str, declaration_id: str) -> None:
        p = t.permits.c
        self.c.execute(update(t.permits).where(
            p.permit_number == permit_number, p.issuing_country == issuing_country,
            p.used_by == declaration_id).values(used_by=None))

    def add_usage(self, usage: Usage) -> None:
        try:
            self.c.execute(insert(t.usages).values(usage_to_row(usage)))
        except IntegrityError as exc:  # the same item of the same version, written already
            raise DuplicateDecision(str(exc.orig)) from exc

    def reverse_usage(self, usage_id: str, at: datetime) -> bool:
        result = self.c.execute(update(t.usages).where(
            t.usages.c.usage_id == usage_id, t.usages.c.reversed_at.is_(None),
        ).values(reversed_at=at))
        return result.rowcount == 1

    def usages(self, *, declaration_id: str | None = None,
               permit: tuple[str, str] | None = None, active_only: bool = True) -> list[Usage]:
        u = t.usages.c
        query = select(t.usages).order_by(u.recorded_at, u.declaration_id, u.item_number, u.line)
        if declaration_id is not None:
            query = query.where(u.declaration_id == declaration_id)
        if permit is not None:
            query = query.where(u.permit_number == permit[0], u.issuing_country == permit[1])
        if active_only:
            query = query.where(u.reversed_at.is_(None))
        return [usage_from_row(r) for r in self.c.execute(query).mappings()]

    # -- declarations -----------------------------------------------------------------------------
    def _stored(self, row) -> StoredDecision:
        return StoredDecision(decision_from_dict(row["payload"]),
                              declaration_from_dict(row["declaration"]),
                              DeclarationState(row["state"]), utc(row["decided_at"]))

    def _latest_query(self):
        d, s = t.decisions.c, t.declarations.c
        return (select(t.decisions, s.state).join(
            t.declarations, and_(s.declaration_id == d.declaration_id,
                                 s.latest_version == d.version)))

    def latest_decision(self, declaration_id: str) -> StoredDecision | None:
        row = self.c.execute(self._latest_query().where(
            t.declarations.c.declaration_id == declaration_id)).mappings().first()
        return self._stored(row) if row else None

    def save_decision(self, stored: StoredDecision) -> None:
        decision = stored.decision
        try:
            with self.c.begin_nested():
                self.c.execute(insert(t.decisions).values(
                    declaration_id=decision.declaration_id, version=decision.version,
                    decision=decision.decision.value, hs_table=decision.hs_table,
                    declaration_date=stored.declaration.date,
                    payload=decision_to_dict(decision),
                    declaration=declaration_to_dict(stored.declaration),
                    decided_at=stored.decided_at))
        except IntegrityError as exc:
            raise DuplicateDecision(str(exc.orig)) from exc
        values = {"latest_version": decision.version, "state": stored.state.value,
                  "declarant_code": decision.declarant_code, "office_code": decision.office,
                  "updated_at": stored.decided_at}
        updated = self.c.execute(update(t.declarations).where(
            t.declarations.c.declaration_id == decision.declaration_id).values(values))
        if updated.rowcount == 0:
            self.c.execute(insert(t.declarations).values(
                declaration_id=decision.declaration_id, **values))

    def set_state(self, declaration_id: str, state: DeclarationState, at: datetime) -> None:
        self.c.execute(update(t.declarations).where(
            t.declarations.c.declaration_id == declaration_id).values(state=state.value,
                                                                      updated_at=at))

    def declarations_in_state(self, state: DeclarationState) -> list[StoredDecision]:
        rows = self.c.execute(self._latest_query().where(t.declarations.c.state == state.value)
                              .order_by(t.decisions.c.decided_at)).mappings()
        return [self._stored(r) for r in rows]

    # -- outbox and audit -------------------------------------------------------------------------
    def add_outbox(self, message: OutboxMessage, at: datetime) -> None:
        self.c.execute(insert(t.outbox).values(
            message_id=message.message_id, channel=message.channel,
            destination=message.destination, routing_key=message.routing_key,
            ordering_key=message.ordering_key, body=message.body, headers=message.headers,
            created_at=at, attempts=0))

    def add_audit(self, actor: str, action: str, subject: str, details: dict[str, Any],
                  at: datetime) -> None:
        self.c.execute(insert(t.audit_log).values(actor=actor, action=action, subject=subject,
                                                  details=details, at=at))


class SqlAlchemyLedger(Ledger):
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlAlchemyLedgerSession]:
        try:
            with self.engine.begin() as connection:
                yield SqlAlchemyLedgerSession(connection)
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise Unavailable(f"the ledger database is not reachable: {exc.orig}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[SqlAlchemyLedgerSession]:
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(**{READ_ONLY: True})
                with connection.begin() as tx:
                    yield SqlAlchemyLedgerSession(connection)
                    tx.rollback()
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise Unavailable(f"the ledger database is not reachable: {exc.orig}") from exc
