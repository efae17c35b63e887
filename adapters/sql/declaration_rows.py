"""Declarations and their decisions on SQL (the ``Declarations`` port).

A declaration's row says its latest version and state; its decisions are kept by version,
with the mapped declaration, so that a held one can be decided again when its permit arrives.
Every state move is a compare-and-set from the state (and version) it was read in, so a
concurrent amendment, cancellation or release is noticed, never overwritten (contract 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.declaration_writes import (
    CHECKED_UPSERT,
    INSERT_CITATION,
    INSERT_DECISION,
    UPSERT_DECLARATION,
)
from cites_connector.adapters.sql.pipeline import HeldWrites
from cites_connector.adapters.sql.prebuilt import Prebuilt
from cites_connector.domain.decision_dicts import (
    compact_decision,
    compact_declaration,
    decision_from_dict,
    decision_to_dict,
    declaration_from_dict,
    declaration_to_dict,
)
from cites_connector.domain.usages import DeclarationState, StoredDecision
from cites_connector.services.ports import Declarations, DuplicateDecision

# -- statements, built once ----------------------------------------------------------------

_d, _s = t.decisions.c, t.declarations.c

_LATEST = select(t.decisions, _s.state).join(
    t.declarations, and_(_s.declaration_id == _d.declaration_id, _s.latest_version == _d.version)
)
_LATEST_OF = Prebuilt(
    _LATEST.where(_s.declaration_id == bindparam("declaration_id")), ("declaration_id",)
)
#: compare-and-set: the state moves only from the state (and latest version) it was read in
_SET_STATE = (
    update(t.declarations)
    .where(
        _s.declaration_id == bindparam("b_declaration_id"),
        _s.latest_version == bindparam("b_version"),
        _s.state == bindparam("b_expected"),
    )
    .values(state=bindparam("b_state"), updated_at=bindparam("b_at"))
)

_REPLACE_DECISION = (
    update(t.decisions)
    .where(_d.declaration_id == bindparam("b_declaration_id"), _d.version == bindparam("b_version"))
    .values(
        decision=bindparam("decision"),
        hs_table=bindparam("hs_table"),
        payload=bindparam("payload"),
        decided_at=bindparam("decided_at"),
    )
)

_c = t.held_citations.c
#: the held declarations citing a permit: asked after every permit event (releases.py)
_HELD_CITING = (
    _LATEST.join(
        t.held_citations, and_(_c.declaration_id == _d.declaration_id, _c.version == _d.version)
    )
    .where(_c.permit_number == bindparam("b_permit"), _s.state == DeclarationState.HELD.value)
    .order_by(_d.decided_at, _d.declaration_id)
)


def _duplicate(exc: DBAPIError) -> DuplicateDecision | None:
    return DuplicateDecision(str(exc.orig)) if isinstance(exc, IntegrityError) else None


class SqlDeclarations(Declarations):
    """``save`` may be held until the commit (``HeldWrites``): the others send it first."""

    def __init__(self, connection: Connection, writes: HeldWrites | None = None):
        self.c = connection
        self.postgres = connection.dialect.name == "postgresql"
        self._upsert = UPSERT_DECLARATION.get(connection.dialect.name)
        self.writes = writes if writes is not None else HeldWrites(connection)

    def _stored(self, row: Mapping[Any, Any]) -> StoredDecision:
        return StoredDecision(
            decision_from_dict(row["payload"]),
            declaration_from_dict(row["declaration"]),
            DeclarationState(row["state"]),
            utc(row["decided_at"]),
        )

    def lock(self, declaration_id: str) -> None:
        if self.postgres:  # held (clearance): sent with the read of its latest decision
            self.writes.take(*locks.lock_statement(locks.DECLARATIONS, [declaration_id]))

    def latest(self, declaration_id: str) -> StoredDecision | None:
        rows = self.writes.read(_LATEST_OF, {"declaration_id": declaration_id})
        return self._stored(rows[0]) if rows else None

    def save(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        decision = stored.decision
        # no savepoint: a duplicate ends the transaction anyway (the service retries it)
        self.writes.run(
            INSERT_DECISION,
            {
                "declaration_id": decision.declaration_id,
                "version": decision.version,
                "decision": decision.decision.value,
                "hs_table": decision.hs_table,
                "declaration_date": stored.declaration.date,
                "payload": compact_decision(
                    payload if payload is not None else decision_to_dict(decision)
                ),
                "declaration": compact_declaration(declaration_to_dict(stored.declaration)),
                "decided_at": stored.decided_at,
            },
            _duplicate,
        )
        if stored.state is DeclarationState.HELD and stored.cited_permits:  # indexed by them
            self.writes.run(
                INSERT_CITATION,
                [
                    {"declaration_id": decision.declaration_id, "version": decision.version}
                    | {"permit_number": n}
                    for n in sorted(set(stored.cited_permits))
                ],
            )
        values = {
            "declaration_id": decision.declaration_id,
            "latest_version": decision.version,
            "state": stored.state.value,
            "declarant_code": decision.declarant_code,
            "office_code": decision.office,
            "updated_at": stored.decided_at,
        }
        newer = DuplicateDecision(
            f"declaration {decision.declaration_id} has a version newer than {decision.version}"
        )
        if self.writes.holding:  # the server fails it if it wrote nothing
            sqlstate = "22012"  # division_by_zero: _checked_upsert
            self.writes.run(
                CHECKED_UPSERT,
                values,
                lambda exc: newer if getattr(exc.orig, "sqlstate", None) == sqlstate else None,
            )
            return
        if self._upsert is not None:
            if self._upsert.execute(self.c, values) != 1:
                raise newer
            return
        updated = self.c.execute(
            update(t.declarations)
            .where(_s.declaration_id == decision.declaration_id)
            .values(values)
        )
        if updated.rowcount == 0:
            self.c.execute(insert(t.declarations).values(values))

    def replace(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
        d = stored.decision
        if not self._move_state(
            d.declaration_id, stored.state, stored.decided_at, expected, d.version
        ):
            return False
        self.c.execute(
            _REPLACE_DECISION,
            {
                "b_declaration_id": d.declaration_id,
                "b_version": d.version,
                "decision": d.decision.value,
                "hs_table": d.hs_table,
                "payload": compact_decision(decision_to_dict(d)),
                "decided_at": stored.decided_at,
            },
        )
        return True

    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        self.writes.flush()
        found = self.c.execute(_HELD_CITING, {"b_permit": permit_number}).mappings()
        return [self._stored(r) for r in found]

    def held_awaiting_permits(self, limit: int) -> list[StoredDecision]:
        self.writes.flush()
        c, p = t.held_citations.c, t.permits.c
        unknown = (
            select(c.declaration_id, c.version)
            .where(~exists().where(p.permit_number == c.permit_number))
            .distinct()
            .subquery()
        )
        query = (
            _LATEST.join(
                unknown,
                and_(
                    unknown.c.declaration_id == _d.declaration_id,
                    unknown.c.version == _d.version,
                ),
            )
            .where(_s.state == DeclarationState.HELD.value)
            .order_by(_d.decided_at, _d.declaration_id)
            .limit(limit)
        )
        return [self._stored(r) for r in self.c.execute(query).mappings()]

    def set_state(
        self,
        declaration_id: str,
        state: DeclarationState,
        at: datetime,
        *,
        expected: DeclarationState,
        version: int,
    ) -> bool:
        return self._move_state(declaration_id, state, at, expected, version)

    def _move_state(
        self,
        declaration_id: str,
        state: DeclarationState,
        at: datetime,
        expected: DeclarationState,
        version: int,
    ) -> bool:
        self.writes.flush()
        result = self.c.execute(
            _SET_STATE,
            {
                "b_declaration_id": declaration_id,
                "b_version": version,
                "b_expected": expected.value,
                "b_state": state.value,
                "b_at": at,
            },
        )
        return result.rowcount == 1

    def recorded_since(self, since: date | None) -> list[StoredDecision]:
        self.writes.flush()
        dc, sc = t.decisions.c, t.declarations.c
        query = (
            select(dc.payload, dc.declaration, dc.decided_at, sc.state)
            .join(
                t.declarations,
                and_(sc.declaration_id == dc.declaration_id, sc.latest_version == dc.version),
            )
            .order_by(dc.declaration_date, dc.declaration_id)
        )
        if since is not None:
            query = query.where(dc.declaration_date >= since)
        return [self._stored(r) for r in self.c.execute(query).mappings()]
