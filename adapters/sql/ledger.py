"""SqlAlchemyLedger: the ledger port on SQLite or PostgreSQL.

Concurrency (contract 8): on PostgreSQL a transaction takes transaction-scoped advisory locks,
first on the declaration it changes, then on every permit number it reads or changes, in a
fixed order (ports.py); advisory locks also cover a declaration or a permit not stored yet.
Every write-off is besides a conditional UPDATE that refuses to go below zero, and a
declaration's state moves only from the state it was read in, so neither a lost update nor a
deadlock can happen. On SQLite writers are serialised by BEGIN IMMEDIATE (engine.py), which
makes the locks unnecessary. Connection failures surface as ``Unavailable``: nothing written.

Speed: a clearance is a dozen statements, so building and compiling them costs more than the
database does. Statements are therefore built once, here, with bound parameters (SQLAlchemy
then compiles each once per engine), rows are sent as plain dicts, several rows of one table
go in one ``executemany``, and the permits a declaration cites are read once per transaction
(``lock_permits``) and kept until the session changes them.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from dataclasses import replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import (
    Connection, Engine, and_, bindparam, case, delete, insert, or_, select, update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from adapters.sql import tables as t
from adapters.sql import locks
from adapters.sql.codec import (
    from_micro, line_to_row, permit_to_row, to_micro, usage_from_row, usage_to_row, utc,
)
from adapters.sql.engine import READ_ONLY
from adapters.sql.permit_reader import LineCache, read_permits
from connector.domain.errors import Unavailable
from connector.domain.permits import Permit, PermitStatus, PermitStatusChange
from connector.domain.records import (
    compact, declaration_from_dict, declaration_to_dict, decision_from_dict, decision_to_dict,
)
from connector.domain.usages import DeclarationState, StoredDecision, Usage
from connector.services.messages import OutboxMessage
from connector.services.ports import DuplicateDecision, Ledger, LedgerSession


# -- statements, built once ----------------------------------------------------------------

_p, _l, _u, _d, _s = (t.permits.c, t.permit_lines.c, t.usages.c, t.decisions.c,
                      t.declarations.c)


_PERMIT_ID = (select(_p.id).where(_p.permit_number == bindparam("number"),
                                  _p.issuing_country == bindparam("country"))
              .scalar_subquery())
_LINE_BY_KEY = and_(_l.permit_id == _PERMIT_ID, _l.line == bindparam("line_letter"))
#: the guard ``remaining >= amount`` is what keeps a line from going below zero under
#: concurrency; no row back means it refused. Each change stamps the line (permit_reader.py).
_DRAW_BY_ID = (update(t.permit_lines)
               .where(_l.id == bindparam("line_id"), _l.remaining_micro >= bindparam("amount"))
               .values(remaining_micro=_l.remaining_micro - bindparam("amount"),
                       stamp=bindparam("b_stamp"))
               .returning(_l.remaining_micro))
_DRAW_BY_KEY = (update(t.permit_lines)
                .where(_LINE_BY_KEY, _l.remaining_micro >= bindparam("amount"))
                .values(remaining_micro=_l.remaining_micro - bindparam("amount"),
                        stamp=bindparam("b_stamp"))
                .returning(_l.remaining_micro))
_GIVE_BACK = (update(t.permit_lines).where(_LINE_BY_KEY)
              .values(remaining_micro=case(
                  (_l.remaining_micro + bindparam("amount") > _l.quantity_micro,
                   _l.quantity_micro),
                  else_=_l.remaining_micro + bindparam("amount")),
                  stamp=bindparam("b_stamp"))
              .returning(_l.remaining_micro))
#: once per transaction and permit whose lines it changes
_BUMP_STAMP = (update(t.permits)
               .where(_p.permit_number == bindparam("number"),
                      _p.issuing_country == bindparam("country"))
               .values(balance_stamp=_p.balance_stamp + 1)
               .returning(_p.id, _p.balance_stamp))
_MARK_USED = (update(t.permits)
              .where(_p.permit_number == bindparam("number"),
                     _p.issuing_country == bindparam("country"),
                     or_(_p.used_by.is_(None), _p.used_by == bindparam("declaration_id")))
              .values(used_by=bindparam("declaration_id")))
_RELEASE_USE = (update(t.permits)
                .where(_p.permit_number == bindparam("number"),
                       _p.issuing_country == bindparam("country"),
                       _p.used_by == bindparam("declaration_id"))
                .values(used_by=None))
_SET_STATUS = (update(t.permits)
               .where(_p.permit_number == bindparam("number"),
                      _p.issuing_country == bindparam("country"))
               .values(status=bindparam("b_status"), version=bindparam("b_version"),
                       status_reason=bindparam("b_reason")))

_INSERT_USAGE = insert(t.usages)
_REVERSE_USAGE = (update(t.usages)
                  .where(_u.usage_id == bindparam("b_usage_id"), _u.reversed_at.is_(None))
                  .values(reversed_at=bindparam("b_at")))

_LATEST = select(t.decisions, _s.state).join(
    t.declarations, and_(_s.declaration_id == _d.declaration_id, _s.latest_version == _d.version))
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


_UPSERT_DECLARATION = {"sqlite": _upsert_declaration(sqlite),
                       "postgresql": _upsert_declaration(postgresql)}
#: compare-and-set: the state moves only from the state (and latest version) it was read in
_SET_STATE = (update(t.declarations)
              .where(_s.declaration_id == bindparam("b_declaration_id"),
                     _s.latest_version == bindparam("b_version"),
                     _s.state == bindparam("b_expected"))
              .values(state=bindparam("b_state"), updated_at=bindparam("b_at")))

_INSERT_CITATION = insert(t.held_citations)
_REPLACE_DECISION = (update(t.decisions).where(
    _d.declaration_id == bindparam("b_declaration_id"), _d.version == bindparam("b_version"))
    .values(decision=bindparam("decision"), hs_table=bindparam("hs_table"),
            payload=bindparam("payload"), decided_at=bindparam("decided_at")))

_INSERT_OUTBOX = insert(t.outbox)
_INSERT_OUTBOX_ONCE = {
    name: dialect.insert(t.outbox).on_conflict_do_nothing(index_elements=["message_id"])
    .execution_options(preserve_rowcount=True)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))}
_INSERT_AUDIT = insert(t.audit_log)


def _outbox_row(message: OutboxMessage, at: datetime) -> dict[str, Any]:
    return {"message_id": message.message_id, "channel": message.channel,
            "destination": message.destination, "routing_key": message.routing_key,
            "ordering_key": message.ordering_key, "body": message.body,
            "headers": message.headers, "created_at": at, "attempts": 0}


class SqlAlchemyLedgerSession(LedgerSession):
    def __init__(self, connection: Connection, lines: LineCache | None = None):
        self.c = connection
        self.postgres = connection.dialect.name == "postgresql"
        self._upsert = _UPSERT_DECLARATION.get(connection.dialect.name)
        self._lines = lines if lines is not None else LineCache()
        #: permits read in this transaction, by number, kept up to date with its own changes
        self._views: dict[str, list[Permit]] = {}
        #: line row ids by letter, per (number, country): a line is changed by its id
        self._line_ids: dict[tuple[str, str], Mapping[str, int]] = {}
        #: the stamp this transaction writes on the lines it changes, per (number, country)
        self._stamps: dict[tuple[str, str], int] = {}
        #: ids of the permits this transaction changed: never kept for other transactions
        self._changed: set[int] = set()

    # -- permits --------------------------------------------------------------------------------
    def _read(self, numbers: Iterable[str]) -> None:
        numbers = sorted(set(numbers))
        if not numbers:
            return
        found: dict[str, list[Permit]] = {n: [] for n in numbers}
        for permit, line_ids in read_permits(self.c, numbers, self._lines, self._changed):
            found[permit.permit_number].append(permit)
            self._line_ids[permit.key] = line_ids
        self._views.update(found)

    def _view(self, permit_number: str, issuing_country: str) -> Permit | None:
        return next((p for p in self._views.get(permit_number, ())
                     if p.issuing_country == issuing_country), None)

    def _replace_view(self, changed: Permit) -> None:
        views = self._views.get(changed.permit_number)
        if views is not None:
            self._views[changed.permit_number] = [changed if p.key == changed.key else p
                                                  for p in views]

    def permits_numbered(self, permit_number: str) -> list[Permit]:
        if permit_number not in self._views:
            self._read([permit_number])
        return list(self._views[permit_number])

    def get_permit(self, permit_number: str, issuing_country: str) -> Permit | None:
        if permit_number not in self._views:
            self._read([permit_number])
        return self._view(permit_number, issuing_country)

    def lock_permits(self, permit_numbers: Iterable[str]) -> None:
        """Lock (PostgreSQL) and read the cited permits, all in one go, for the decision."""
        numbers = sorted(set(permit_numbers))
        if self.postgres:
            locks.lock_names(self.c, locks.PERMITS, numbers)
        self._read(n for n in numbers if not any(p.key in self._stamps
                                                 for p in self._views.get(n, ())))

    def _stamp(self, permit_number: str, issuing_country: str) -> int:
        """The stamp of this transaction's changes to the permit's lines: the permit's stamp
        raised once (permit_reader.py)."""
        key = (permit_number, issuing_country)
        if key not in self._stamps:
            row = self.c.execute(_BUMP_STAMP, {"number": permit_number,
                                               "country": issuing_country}).first()
            if row is None:
                return 0  # no such permit: the line update that follows changes nothing
            self._changed.add(row.id)
            self._stamps[key] = row.balance_stamp
        return self._stamps[key]

    def save_permit(self, permit: Permit) -> None:
        self._views.pop(permit.permit_number, None)
        self._line_ids.pop(permit.key, None)
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
        stamp = self._stamp(permit.permit_number, permit.issuing_country)
        self.c.execute(insert(t.permit_lines),
                       [line_to_row(line) | {"permit_id": existing, "stamp": stamp}
                        for line in permit.lines])

    def set_permit_status(self, change: PermitStatusChange) -> None:
        self._views.pop(change.permit_number, None)
        self.c.execute(_SET_STATUS, {"number": change.permit_number,
                                     "country": change.issuing_country,
                                     "b_status": change.status.value, "b_version": change.version,
                                     "b_reason": change.reason})

    # -- write-offs -------------------------------------------------------------------------------
    def _line_changed(self, permit_number: str, issuing_country: str, line: str,
                      remaining_micro: int) -> Decimal:
        remaining = from_micro(remaining_micro)
        view = self._view(permit_number, issuing_country)
        if view is not None:
            self._replace_view(view.with_remaining({line: remaining}))
        return remaining

    def draw(self, permit_number: str, issuing_country: str, line: str, amount: Decimal) -> bool:
        params = {"amount": to_micro(amount),
                  "b_stamp": self._stamp(permit_number, issuing_country)}
        line_id = self._line_ids.get((permit_number, issuing_country), {}).get(line)
        if line_id is not None:
            row = self.c.execute(_DRAW_BY_ID, params | {"line_id": line_id}).first()
        else:
            row = self.c.execute(_DRAW_BY_KEY, params | {
                "number": permit_number, "country": issuing_country,
                "line_letter": line}).first()
        if row is None:
            return False
        self._line_changed(permit_number, issuing_country, line, row.remaining_micro)
        return True

    def give_back(self, permit_number: str, issuing_country: str, line: str,
                  amount: Decimal) -> Decimal:
        remaining = self.c.execute(_GIVE_BACK, {
            "number": permit_number, "country": issuing_country, "line_letter": line,
            "amount": to_micro(amount),
            "b_stamp": self._stamp(permit_number, issuing_country)}).scalar()
        if remaining is None:
            return Decimal(0)
        return self._line_changed(permit_number, issuing_country, line, remaining)

    def _used_by(self, permit_number: str, issuing_country: str, used_by: str | None) -> None:
        view = self._view(permit_number, issuing_country)
        if view is not None:
            self._replace_view(replace(view, used_by=used_by).with_lines_from(view))

    def mark_used(self, permit_number: str, issuing_country: str, declaration_id: str) -> bool:
        result = self.c.execute(_MARK_USED, {"number": permit_number, "country": issuing_country,
                                             "declaration_id": declaration_id})
        if result.rowcount != 1:
            return False
        self._used_by(permit_number, issuing_country, declaration_id)
        return True

    def release_use(self, permit_number: str, issuing_country: str, declaration_id: str) -> None:
        result = self.c.execute(_RELEASE_USE, {"number": permit_number,
                                               "country": issuing_country,
                                               "declaration_id": declaration_id})
        if result.rowcount == 1:
            self._used_by(permit_number, issuing_country, None)

    def add_usages(self, usages: Sequence[Usage]) -> None:
        if not usages:
            return
        try:
            self.c.execute(_INSERT_USAGE, [usage_to_row(u) for u in usages])
        except IntegrityError as exc:  # the same item of the same version, written already
            raise DuplicateDecision(str(exc.orig)) from exc

    def reverse_usage(self, usage_id: str, at: datetime) -> bool:
        result = self.c.execute(_REVERSE_USAGE, {"b_usage_id": usage_id, "b_at": at})
        return result.rowcount == 1

    def usages(self, *, declaration_id: str | None = None,
               permit: tuple[str, str] | None = None, active_only: bool = True) -> list[Usage]:
        query = select(t.usages).order_by(_u.recorded_at, _u.declaration_id, _u.item_number,
                                          _u.line)
        if declaration_id is not None:
            query = query.where(_u.declaration_id == declaration_id)
        if permit is not None:
            query = query.where(_u.permit_number == permit[0], _u.issuing_country == permit[1])
        if active_only:
            query = query.where(_u.reversed_at.is_(None))
        return [usage_from_row(r) for r in self.c.execute(query).mappings()]

    # -- declarations -----------------------------------------------------------------------------
    def _stored(self, row) -> StoredDecision:
        return StoredDecision(decision_from_dict(row["payload"]),
                              declaration_from_dict(row["declaration"]),
                              DeclarationState(row["state"]), utc(row["decided_at"]))

    def lock_declaration(self, declaration_id: str) -> None:
        if self.postgres:
            locks.lock_names(self.c, locks.DECLARATIONS, [declaration_id])

    def latest_decision(self, declaration_id: str) -> StoredDecision | None:
        row = self.c.execute(_LATEST_OF, {"declaration_id": declaration_id}).mappings().first()
        return self._stored(row) if row else None

    def save_decision(self, stored: StoredDecision,
                      payload: dict[str, Any] | None = None) -> None:
        decision = stored.decision
        try:
            # no savepoint: a duplicate ends the transaction anyway (the service retries it)
            self.c.execute(_INSERT_DECISION, {
                "declaration_id": decision.declaration_id, "version": decision.version,
                "decision": decision.decision.value, "hs_table": decision.hs_table,
                "declaration_date": stored.declaration.date,
                "payload": compact(payload if payload is not None
                                   else decision_to_dict(decision)),
                "declaration": compact(declaration_to_dict(stored.declaration)),
                "decided_at": stored.decided_at})
        except IntegrityError as exc:
            raise DuplicateDecision(str(exc.orig)) from exc
        self._cite(stored)
        values = {"declaration_id": decision.declaration_id,
                  "latest_version": decision.version, "state": stored.state.value,
                  "declarant_code": decision.declarant_code, "office_code": decision.office,
                  "updated_at": stored.decided_at}
        if self._upsert is not None:
            if self.c.execute(self._upsert, values).rowcount != 1:
                raise DuplicateDecision(f"declaration {decision.declaration_id} has a version "
                                        f"newer than {decision.version}")
            return
        updated = self.c.execute(update(t.declarations).where(
            _s.declaration_id == decision.declaration_id).values(values))
        if updated.rowcount == 0:
            self.c.execute(insert(t.declarations).values(values))

    def _cite(self, stored: StoredDecision) -> None:
        """Index a held decision by the permits it cites (nothing to do for the others)."""
        if stored.state is DeclarationState.HELD and stored.cited_permits:
            d = stored.decision
            self.c.execute(_INSERT_CITATION, [
                {"declaration_id": d.declaration_id, "version": d.version, "permit_number": n}
                for n in sorted(set(stored.cited_permits))])

    def keep_pending_status(self, change: PermitStatusChange) -> None:
        p = t.pending_permit_status.c
        key = and_(p.permit_number == change.permit_number,
                   p.issuing_country == change.issuing_country)
        current = self.c.execute(select(p.version).where(key)).scalar()
        row = {"version": change.version, "status": change.status.value, "reason": change.reason}
        if current is None:
            self.c.execute(insert(t.pending_permit_status).values(
                permit_number=change.permit_number, issuing_country=change.issuing_country, **row))
        elif current < change.version:
            self.c.execute(update(t.pending_permit_status).where(key).values(row))

    def take_pending_status(self, permit_number: str,
                            issuing_country: str) -> PermitStatusChange | None:
        p = t.pending_permit_status.c
        key = and_(p.permit_number == permit_number, p.issuing_country == issuing_country)
        row = self.c.execute(select(t.pending_permit_status).where(key)).mappings().first()
        if row is None:
            return None
        self.c.execute(delete(t.pending_permit_status).where(key))
        return PermitStatusChange(permit_number, issuing_country, row["version"],
                                  PermitStatus(row["status"]), row["reason"])

    def replace_decision(self, stored: StoredDecision, *, expected: DeclarationState) -> bool:
        d = stored.decision
        if not self._move_state(d.declaration_id, stored.state, stored.decided_at, expected,
                                d.version):
            return False
        self.c.execute(_REPLACE_DECISION, {
            "b_declaration_id": d.declaration_id, "b_version": d.version,
            "decision": d.decision.value, "hs_table": d.hs_table,
            "payload": compact(decision_to_dict(d)), "decided_at": stored.decided_at})
        return True

    def held_citing(self, permit_number: str) -> list[StoredDecision]:
        c = t.held_citations.c
        query = (_LATEST.join(t.held_citations, and_(c.declaration_id == _d.declaration_id,
                                                      c.version == _d.version))
                 .where(c.permit_number == permit_number, _s.state == DeclarationState.HELD.value)
                 .order_by(_d.decided_at, _d.declaration_id))
        return [self._stored(r) for r in self.c.execute(query).mappings()]

    def inbox_seen(self, message_id: str) -> bool:
        return self.c.execute(select(t.inbox.c.message_id).where(
            t.inbox.c.message_id == message_id)).first() is not None

    def record_inbox(self, message_id: str, source: str, outcome: str, at: datetime) -> None:
        try:
            self.c.execute(insert(t.inbox).values(message_id=message_id, source=source,
                                                  outcome=outcome[:2000], received_at=at))
        except IntegrityError as exc:  # a concurrent consumer applied it first
            raise DuplicateDecision(f"message {message_id} applied already") from exc

    def set_state(self, declaration_id: str, state: DeclarationState, at: datetime, *,
                  expected: DeclarationState, version: int) -> bool:
        return self._move_state(declaration_id, state, at, expected, version)

    def _move_state(self, declaration_id: str, state: DeclarationState, at: datetime,
                    expected: DeclarationState, version: int) -> bool:
        result = self.c.execute(_SET_STATE, {"b_declaration_id": declaration_id,
                                             "b_version": version, "b_expected": expected.value,
                                             "b_state": state.value, "b_at": at})
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

    def add_audit(self, actor: str, action: str, subject: str, details: dict[str, Any],
                  at: datetime) -> None:
        self.c.execute(_INSERT_AUDIT, {"actor": actor, "action": action, "subject": subject,
                                       "details": details, "at": at})


class SqlAlchemyLedger(Ledger):
    def __init__(self, engine: Engine):
        self.engine = engine
        #: decoded permit lines shared by this process's transactions (permit_reader.py)
        self.lines = LineCache()
        self._write_turn = (threading.Lock() if engine.dialect.name == "sqlite"
                            else contextlib.nullcontext())

    @contextmanager
    def transaction(self) -> Iterator[SqlAlchemyLedgerSession]:
        """A writing transaction. On SQLite, threads of one process queue on a lock first:
        SQLite admits one writer anyway, and its busy handler would make the others sleep in
        growing steps (hundreds of milliseconds under load) instead of taking their turn."""
        with self._write_turn:
            yield from self._transaction()

    def _transaction(self) -> Iterator[SqlAlchemyLedgerSession]:
        try:
            with self.engine.begin() as connection:
                yield SqlAlchemyLedgerSession(connection, self.lines)
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
                    yield SqlAlchemyLedgerSession(connection, self.lines)
                    tx.rollback()
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise Unavailable(f"the ledger database is not reachable: {exc.orig}") from exc
