"""SqlAlchemyLedger: the ledger port on SQLite or PostgreSQL.

Concurrency (contract 8): on PostgreSQL a transaction takes transaction-scoped advisory locks,
first on the declaration it changes, then on every permit number it reads or changes, in a
fixed order (ports.py); advisory locks also cover a declaration or a permit not stored yet.
Every write-off is besides a conditional UPDATE that refuses to go below zero, and a
declaration's state moves only from the state it was read in, so neither a lost update nor a
deadlock can happen. On SQLite writers are serialised by BEGIN IMMEDIATE (engine.py), which
makes the locks unnecessary. Connection failures surface as ``Unavailable``: nothing written;
a value the database refuses surfaces as ``UnstorableValue`` (db_errors.py).

Speed: a clearance is a dozen statements, so building and compiling them costs more than the
database does. Statements are therefore built once, at import, with bound parameters
(SQLAlchemy then compiles each once per engine), rows are sent as plain dicts, several rows of
one table go in one ``executemany``, and the permits a declaration cites are read once per
transaction (``lock_permits``, permit_rows.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_ledger import keyed_row
from cites_connector.adapters.sql.codec import utc
from cites_connector.adapters.sql.db_errors import translate
from cites_connector.adapters.sql.engine import READ_ONLY
from cites_connector.adapters.sql.permit_intake import PermitIntakeRows
from cites_connector.adapters.sql.permit_reader import LineCache
from cites_connector.adapters.sql.permit_rows import PermitRows
from cites_connector.domain.records import (
    compact,
    decision_from_dict,
    decision_to_dict,
    declaration_from_dict,
    declaration_to_dict,
)
from cites_connector.domain.usages import DeclarationState, StoredDecision
from cites_connector.services.messages import OutboxMessage
from cites_connector.services.ports import DuplicateDecision, Ledger, LedgerSession

# -- statements, built once ----------------------------------------------------------------

_d, _s = t.decisions.c, t.declarations.c

_LATEST = select(t.decisions, _s.state).join(
    t.declarations, and_(_s.declaration_id == _d.declaration_id, _s.latest_version == _d.version)
)
_LATEST_OF = _LATEST.where(_s.declaration_id == bindparam("declaration_id"))
_INSERT_DECISION = insert(t.decisions)
_DECLARATION_COLUMNS = ("latest_version", "state", "declarant_code", "office_code", "updated_at")


def _upsert_declaration(dialect) -> Any:
    """One statement for the declaration's row; it never moves back to an older version.

    A version older than the stored one updates nothing (row count 0): a concurrent decision
    on a newer version committed first, and the caller retries, to answer StaleVersion.
    """
    stmt = dialect.insert(t.declarations)
    return stmt.on_conflict_do_update(
        index_elements=[_s.declaration_id],
        set_={name: stmt.excluded[name] for name in _DECLARATION_COLUMNS},
        where=_s.latest_version <= stmt.excluded.latest_version,
    ).execution_options(preserve_rowcount=True)  # an INSERT's row count is dropped otherwise


_UPSERT_DECLARATION = {
    "sqlite": _upsert_declaration(sqlite),
    "postgresql": _upsert_declaration(postgresql),
}
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

_INSERT_CITATION = insert(t.held_citations)
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

_INSERT_OUTBOX = insert(t.outbox)
_INSERT_OUTBOX_ONCE = {
    name: dialect.insert(t.outbox)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .execution_options(preserve_rowcount=True)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_AUDIT = insert(t.audit_log)


def _outbox_row(message: OutboxMessage, at: datetime) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "channel": message.channel,
        "destination": message.destination,
        "routing_key": message.routing_key,
        "ordering_key": message.ordering_key,
        "body": message.body,
        "headers": message.headers,
        "created_at": at,
        "attempts": 0,
    }


class SqlAlchemyLedgerSession(PermitIntakeRows, PermitRows, LedgerSession):
    """The ledger port on one database transaction: permits and write-offs (permit_rows.py),
    the inbox and early status events (permit_intake.py), declarations, the outbox and the
    audit trail."""

    def __init__(self, connection: Connection, lines: LineCache | None = None):
        super().__init__(connection, lines)
        self._upsert = _UPSERT_DECLARATION.get(connection.dialect.name)

    # -- declarations -----------------------------------------------------------------------------
    def _stored(self, row) -> StoredDecision:
        return StoredDecision(
            decision_from_dict(row["payload"]),
            declaration_from_dict(row["declaration"]),
            DeclarationState(row["state"]),
            utc(row["decided_at"]),
        )

    def lock_declaration(self, declaration_id: str) -> None:
        if self.postgres:
            locks.lock_names(self.c, locks.DECLARATIONS, [declaration_id])

    def latest_decision(self, declaration_id: str) -> StoredDecision | None:
        row = self.c.execute(_LATEST_OF, {"declaration_id": declaration_id}).mappings().first()
        return self._stored(row) if row else None

    def save_decision(self, stored: StoredDecision, payload: dict[str, Any] | None = None) -> None:
        decision = stored.decision
        try:
            # no savepoint: a duplicate ends the transaction anyway (the service retries it)
            self.c.execute(
                _INSERT_DECISION,
                {
                    "declaration_id": decision.declaration_id,
                    "version": decision.version,
                    "decision": decision.decision.value,
                    "hs_table": decision.hs_table,
                    "declaration_date": stored.declaration.date,
                    "payload": compact(
                        payload if payload is not None else decision_to_dict(decision)
                    ),
                    "declaration": compact(declaration_to_dict(stored.declaration)),
                    "decided_at": stored.decided_at,
                },
            )
        except IntegrityError as exc:
            raise DuplicateDecision(str(exc.orig)) from exc
        self._cite(stored)
        values = {
            "declaration_id": decision.declaration_id,
            "latest_version": decision.version,
            "state": stored.state.value,
            "declarant_code": decision.declarant_code,
            "office_code": decision.office,
            "updated_at": stored.decided_at,
        }
        if self._upsert is not None:
            if self.c.execute(self._upsert, values).rowcount != 1:
                raise DuplicateDecision(
                    f"declaration {decision.declaration_id} has a version "
                    f"newer than {decision.version}"
                )
            return
        updated = self.c.execute(
            update(t.declarations)
            .where(_s.declaration_id == decision.declaration_id)
            .values(values)
        )
        if updated.rowcount == 0:
            self.c.execute(insert(t.declarations).values(values))

    def _cite(self, stored: StoredDecision) -> None:
        """Index a held decision by the permits it cites (nothing to do for the others)."""
        if stored.state is DeclarationState.HELD and stored.cited_permits:
            d = stored.decision
            self.c.execute(
                _INSERT_CITATION,
                [
                    {"declaration_id": d.declaration_id, "version": d.version, "permit_number": n}
                    for n in sorted(set(stored.cited_permits))
                ],
            )

    def replace_decision(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
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
                "payload": compact(decision_to_dict(d)),
                "decided_at": stored.decided_at,
            },
        )
        return True

    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        c = t.held_citations.c
        query = (
            _LATEST.join(
                t.held_citations,
                and_(c.declaration_id == _d.declaration_id, c.version == _d.version),
            )
            .where(c.permit_number == permit_number, _s.state == DeclarationState.HELD.value)
            .order_by(_d.decided_at, _d.declaration_id)
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

    # -- outbox and audit -------------------------------------------------------------------------
    def add_outbox(self, message: OutboxMessage, at: datetime) -> None:
        self.c.execute(_INSERT_OUTBOX, _outbox_row(message, at))

    def add_outbox_once(self, message: OutboxMessage, at: datetime) -> bool:
        statement = _INSERT_OUTBOX_ONCE[self.c.dialect.name]
        return self.c.execute(statement, _outbox_row(message, at)).rowcount == 1

    def add_outbox_many(self, messages: Sequence[OutboxMessage], at: datetime) -> None:
        if messages:
            self.c.execute(_INSERT_OUTBOX, [_outbox_row(m, at) for m in messages])

    def add_audit(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None:
        """Keyed at insert with its own MAC, linked into the chain later by the sealer: no
        lock beyond the row itself (audit_ledger.py, issue 14)."""
        self.c.execute(_INSERT_AUDIT, keyed_row(self.c, actor, action, subject, details, at))


class SqlAlchemyLedger(Ledger):
    def __init__(self, engine: Engine):
        self.engine = engine
        #: decoded permit lines shared by this process's transactions (permit_reader.py)
        self.lines = LineCache()
        #: SQLite admits one writer: other writers on this engine take their turn here too
        self.write_turn = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @contextmanager
    def transaction(self) -> Iterator[SqlAlchemyLedgerSession]:
        """A writing transaction. On SQLite, threads of one process queue on a lock first:
        SQLite admits one writer anyway, and its busy handler would make the others sleep in
        growing steps (hundreds of milliseconds under load) instead of taking their turn."""
        with self.write_turn:
            yield from self._transaction()

    def _transaction(self) -> Iterator[SqlAlchemyLedgerSession]:
        try:
            with self.engine.begin() as connection:
                yield SqlAlchemyLedgerSession(connection, self.lines)
        except (DBAPIError, OverflowError) as exc:
            raise translate(exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[SqlAlchemyLedgerSession]:
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(**{READ_ONLY: True})
                with connection.begin() as tx:
                    yield SqlAlchemyLedgerSession(connection, self.lines)
                    tx.rollback()
        except DBAPIError as exc:
            raise translate(exc) from exc
