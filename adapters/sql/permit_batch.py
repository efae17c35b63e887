"""A batch of permit events in few statements (the ``PermitBatchRows`` port, issue 14).

``PermitService.receive_batch`` applies the events a consumer received together in one
transaction. Looked at one by one, each event costs half a dozen statements (its lock, its
inbox row, its permit, its pending status, its stamp, its audit row), which on PostgreSQL are
as many round trips. Here the batch's look-ups are one statement each (``IN (...)``, on
PostgreSQL ``= ANY(array)``), and the new permits it brings, by far the common case, are
written together: on PostgreSQL all four tables (permits, their lines, the audit rows and the
inbox rows) in one statement (permit_batch_pg.py), elsewhere with one ``executemany`` per
table. Everything else (an amendment, a status event, a permit seen twice in the batch) goes
the ordinary way (permit_store.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Connection,
    Table,
    insert,
)
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_ledger import keyed_row
from cites_connector.adapters.sql.codec import line_to_row, permit_to_row
from cites_connector.adapters.sql.ledger import SqlUnitOfWork
from cites_connector.adapters.sql.permit_batch_pg import (
    in_own_transaction,
    recordset_insert,
    recordset_params,
)
from cites_connector.adapters.sql.permit_batch_reads import (
    HELD_CITING_PG,
    KNOWN_PG,
    held_rows,
    id_rows,
    known_rows,
)
from cites_connector.adapters.sql.pipeline import can_pipeline, pipelined
from cites_connector.adapters.sql.prebuilt import Prebuilt
from cites_connector.services.permit_intake import BatchKnown, NewPermit, PermitBatchRows
from cites_connector.services.ports import DuplicateDecision, InboxEntry, UnitOfWork

_INSERTS: dict[tuple[str, tuple[str, ...]], Prebuilt] = {}


def _insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` of ``rows`` (all with the keys of the first) in one ``executemany``."""
    columns = tuple(rows[0])
    key = (table.name, columns)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = Prebuilt(insert(table), columns)
    statement.execute(connection, rows)


#: a new permit's first stamp (permit_reader.py): what ``SqlPermits.save`` leaves on it
_FIRST_STAMP = 1
_MAX_OUTCOME = 2000


class SqlPermitBatch(PermitBatchRows):
    def __init__(self, connection: Connection):
        self.c = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.writes_unless_known = self.postgres and can_pipeline(connection)

    def locked_known(self, permit_numbers: Sequence[str], message_ids: Sequence[str]) -> BatchKnown:
        if not self.postgres:  # SQLite: the transaction holds the one write lock already
            return self._known(known_rows(self.c, permit_numbers, message_ids))
        params = {"numbers": list(permit_numbers), "ids": list(message_ids)}
        if not can_pipeline(self.c):
            locks.lock_names(self.c, locks.PERMITS, permit_numbers)
            return self._known(self.c.execute(KNOWN_PG, params))
        # the locks, then the look-up under them: sent together, run in that order
        lock = locks.lock_statement(locks.PERMITS, permit_numbers)
        return self._known(pipelined(self.c, [lock, (KNOWN_PG, params)]))

    @staticmethod
    def _known(rows: Iterable[Any]) -> BatchKnown:
        known = BatchKnown(set(), set(), {})
        for kind, first, second in rows:
            if kind == "p":
                known.stored.add((first, second))
            elif kind == "s":
                known.pending.add((first, second))
            else:
                known.seen[first] = InboxEntry(first, second)
        return known

    def insert_new(
        self, permits: Sequence[NewPermit], held_for: Sequence[str] | None = None
    ) -> dict[str, list[str]] | None:
        if permits and self.postgres:
            return self._insert_new_pg(permits, held_for)
        if permits:
            self._insert_new(permits)
        return None if held_for is None else self.held_citing(held_for)

    def _insert_new(self, permits: Sequence[NewPermit]) -> None:
        try:
            _insert_many(
                self.c,
                t.permits,
                [permit_to_row(n.permit) | {"balance_stamp": _FIRST_STAMP} for n in permits],
            )
        except IntegrityError as exc:  # PostgreSQL: another event of a new permit won
            raise DuplicateDecision("a permit of the batch was stored concurrently") from exc
        numbers = sorted({n.permit.permit_number for n in permits})
        ids = {(r[1], r[2]): r[0] for r in id_rows(self.c, numbers)}
        lines: list[dict[str, Any]] = []
        for new in permits:
            extra = {"permit_id": ids[new.permit.key], "stamp": _FIRST_STAMP}
            lines.extend(line_to_row(line) | extra for line in new.permit.lines)
        if lines:
            _insert_many(self.c, t.permit_lines, lines)
        _insert_many(
            self.c,
            t.audit_log,
            [
                keyed_row(
                    self.c,
                    n.actor,
                    "permit.issued",
                    f"{n.permit.permit_number}/{n.permit.issuing_country}",
                    {"version": n.permit.version},
                    n.at,
                )
                for n in permits
            ],
        )
        inbox = [
            {
                "message_id": n.message_id,
                "source": n.actor,
                "outcome": n.detail[:_MAX_OUTCOME],
                "received_at": n.at,
                "body_digest": n.body_digest,
            }
            for n in permits
            if n.message_id is not None
        ]
        if inbox:
            try:
                _insert_many(self.c, t.inbox, inbox)
            except IntegrityError as exc:  # a concurrent consumer applied one first
                raise DuplicateDecision("a message of the batch was applied already") from exc

    def insert_unless_known(
        self,
        permits: Sequence[NewPermit],
        message_ids: Sequence[str],
        held_for: Sequence[str],
    ) -> tuple[BatchKnown, dict[str, list[str]]]:
        """PostgreSQL: the locks, the look-up guarding the writes and the held declarations'
        read in one round trip (``recordset_insert(unless_known=True)``)."""
        numbers = sorted({n.permit.permit_number for n in permits})
        statement, params = self._recordset(permits, unless_known=True)
        params |= {"numbers": numbers, "ids": list(message_ids)}
        lock = locks.lock_statement(locks.PERMITS, numbers)
        statements: list[tuple[ClauseElement | str, Any]] = [
            lock,
            (statement, params),
            (HELD_CITING_PG, {"numbers": list(held_for)}),
        ]
        try:
            # the batch's transaction in one round trip when it is the transaction's first
            # work (BEGIN and COMMIT with it); else after what it did, the COMMIT apart
            done = in_own_transaction(self.c, statements)
            if done is None:
                done = pipelined(self.c, statements, every=True)
            _locked, found, held = done
        except IntegrityError as exc:  # another consumer stored a permit or a message first
            raise DuplicateDecision(
                "a permit or message of the batch was stored concurrently"
            ) from exc
        return self._known(found), self._held(held_for, held)

    def _recordset(
        self, permits: Sequence[NewPermit], *, unless_known: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """PostgreSQL: the statement writing the new permits, their lines, audit rows and
        inbox rows, and its parameters (permit_batch_pg.py)."""
        permit_rows = [permit_to_row(n.permit) | {"balance_stamp": _FIRST_STAMP} for n in permits]
        lines = [
            line_to_row(line)
            | {"stamp": _FIRST_STAMP, "p_number": n.permit.permit_number}
            | {"p_country": n.permit.issuing_country}
            for n in permits
            for line in n.permit.lines
        ]
        audit = [self._audit_row(n) for n in permits]
        inbox = [self._inbox_row(n) for n in permits if n.message_id is not None]
        tables = (
            (t.permits, permit_rows),
            (t.permit_lines, lines),
            (t.audit_log, audit),
            (t.inbox, inbox),
        )
        names = tuple(tuple(rows[0]) if rows else () for _table, rows in tables)
        statement = recordset_insert(self.c.dialect, *names, unless_known=unless_known)
        # as SQLAlchemy's JSON type writes it: the engine's serializer, else the standard one
        params: dict[str, Any] = dict(
            recordset_params(tables, self.c.dialect._json_serializer or json.dumps)
        )
        return statement, params

    def _insert_new_pg(
        self, permits: Sequence[NewPermit], held_for: Sequence[str] | None
    ) -> dict[str, list[str]] | None:
        """The batch's new permits, their lines, audit rows and inbox rows in one statement;
        with ``held_for``, the held declarations citing those numbers read right after, sent
        with it (one round trip)."""
        statement, params = self._recordset(permits)
        held: dict[str, list[str]] | None = None
        try:
            if not held_for or not can_pipeline(self.c):
                self.c.exec_driver_sql(statement, params)
            else:
                read = (HELD_CITING_PG, {"numbers": list(held_for)})
                held = self._held(held_for, pipelined(self.c, [(statement, params), read]))
        except IntegrityError as exc:  # another consumer stored a permit or a message first
            raise DuplicateDecision(
                "a permit or message of the batch was stored concurrently"
            ) from exc
        if held is None and held_for is not None:
            held = self.held_citing(held_for)
        return held

    def _audit_row(self, new: NewPermit) -> dict[str, Any]:
        subject = f"{new.permit.permit_number}/{new.permit.issuing_country}"
        return keyed_row(
            self.c, new.actor, "permit.issued", subject, {"version": new.permit.version}, new.at
        )

    @staticmethod
    def _inbox_row(new: NewPermit) -> dict[str, Any]:
        return {
            "message_id": new.message_id,
            "source": new.actor,
            "outcome": new.detail[:_MAX_OUTCOME],
            "received_at": new.at,
            "body_digest": new.body_digest,
        }

    def held_citing(self, permit_numbers: Sequence[str]) -> dict[str, list[str]]:
        if not permit_numbers:
            return {}
        if not self.postgres:
            return self._held(permit_numbers, held_rows(self.c, permit_numbers))
        params = {"numbers": list(permit_numbers)}
        return self._held(permit_numbers, self.c.execute(HELD_CITING_PG, params))

    @staticmethod
    def _held(permit_numbers: Sequence[str], rows: Iterable[Any]) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {n: [] for n in permit_numbers}
        for number, declaration_id in rows:
            held[number].append(declaration_id)
        return held


def permit_batch_rows(uow: UnitOfWork) -> PermitBatchRows | None:
    """The batch rows on a SQL unit of work's connection; None for another ledger."""
    return SqlPermitBatch(uow.connection) if isinstance(uow, SqlUnitOfWork) else None
