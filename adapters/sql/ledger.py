"""SqlAlchemyLedger: units of work on SQLite or PostgreSQL.

Each unit of work is one transaction (transactions.py: opened and its errors translated
there) and its repositories: permits and balances (permit_rows.py), usages (usage_rows.py),
declarations (declaration_rows.py), the inbox and early status events (permit_intake.py), and
here the outbox and the audit trail.

Concurrency (contract 8): on PostgreSQL a transaction takes transaction-scoped advisory locks,
first on the declaration it changes, then on every permit number it reads or changes, in a
fixed order (ports.py); advisory locks also cover a declaration or a permit not stored yet.
Every write-off is besides a conditional UPDATE that refuses to go below zero, and a
declaration's state moves only from the state it was read in, so neither a lost update nor a
deadlock can happen. On SQLite writers are serialised by BEGIN IMMEDIATE (engine.py), which
makes the locks unnecessary. Connection failures surface as ``Unavailable``: nothing written;
a value the database refuses surfaces as ``UnstorableValue`` (db_errors.py).

Speed: a clearance is a dozen statements, so building and compiling them costs more than the
database does. Statements are therefore built once, at import, with bound parameters; those of
the clearance path are compiled once per dialect and run on the driver's cursor
(prebuilt.py, issue 14), rows are sent as plain dicts, several rows of one table go in one
``executemany``, and the permits a declaration cites are read once per transaction
(``permits.lock``, permit_rows.py). On PostgreSQL a clearance's rows are held and sent with
its ``COMMIT`` in one round trip, and its locks with the reads they guard (pipeline.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.dialects import postgresql, sqlite

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_ledger import keyed_row
from cites_connector.adapters.sql.declaration_rows import SqlDeclarations
from cites_connector.adapters.sql.hs_rows import SqlAdminAuditTrail, SqlHsDrafts, SqlHsTableVersions
from cites_connector.adapters.sql.permit_intake import SqlEarlyStatuses, SqlInbox
from cites_connector.adapters.sql.permit_reader import LineCache
from cites_connector.adapters.sql.permit_rows import SqlPermits
from cites_connector.adapters.sql.pipeline import HeldWrites
from cites_connector.adapters.sql.prebuilt import Prebuilt
from cites_connector.adapters.sql.trade_control_rows import SqlTradeControls
from cites_connector.adapters.sql.transactions import reading, writing
from cites_connector.adapters.sql.usage_rows import SqlUsages
from cites_connector.domain.events import Event
from cites_connector.mappings.outbox_messages import OutboxMessage, messages_for, rows_for
from cites_connector.services.ports import AuditTrail, Ledger, Outbox, UnitOfWork

_OUTBOX_COLUMNS = (
    "message_id",
    "channel",
    "destination",
    "routing_key",
    "ordering_key",
    "body",
    "headers",
    "created_at",
    "attempts",
)
_INSERT_OUTBOX = Prebuilt(insert(t.outbox), _OUTBOX_COLUMNS)
_INSERT_OUTBOX_ONCE = {
    name: dialect.insert(t.outbox)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .execution_options(preserve_rowcount=True)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_AUDIT = Prebuilt(
    insert(t.audit_log), ("actor", "action", "subject", "details", "at", "nonce", "mac")
)


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


class SqlOutbox(Outbox):
    """Events in, outbox rows out (mappings/outbox_messages.py), in the caller's transaction;
    ``add`` may be held until the commit (``HeldWrites``)."""

    def __init__(self, connection: Connection, writes: HeldWrites | None = None):
        self.c = connection
        self.writes = writes if writes is not None else HeldWrites(connection)

    def add(self, messages: Sequence[OutboxMessage], at: datetime) -> None:
        """Rows as they are, kept in the order given (their delivery order)."""
        if messages:
            self.writes.run(_INSERT_OUTBOX, [_outbox_row(m, at) for m in messages])

    def record(self, events: Sequence[Event], at: datetime) -> None:
        self.add(rows_for(events), at)

    def record_once(self, event: Event, at: datetime) -> bool:
        self.writes.flush()  # its row count decides: sent at once, after what is held
        statement = _INSERT_OUTBOX_ONCE[self.c.dialect.name]
        return all(
            self.c.execute(statement, _outbox_row(m, at)).rowcount == 1 for m in messages_for(event)
        )


class SqlAuditTrail(AuditTrail):
    """``record`` may be held until the commit (``HeldWrites``)."""

    def __init__(self, connection: Connection, writes: HeldWrites | None = None):
        self.c = connection
        self.writes = writes if writes is not None else HeldWrites(connection)

    def record(
        self, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
    ) -> None:
        """Keyed at insert with its own MAC, linked into the chain later by the sealer: no
        lock beyond the row itself (audit_ledger.py, issue 14)."""
        self.writes.run(_INSERT_AUDIT, keyed_row(self.c, actor, action, subject, details, at))


class SqlUnitOfWork(UnitOfWork):
    """The repositories on one transaction's connection. ``permits`` and ``balances`` are one
    object: a write-off updates the permits this transaction read (permit_rows.py)."""

    def __init__(self, connection: Connection, lines: LineCache | None = None):
        self.connection = connection
        #: what usages, declarations, outbox and audit trail hold until the commit
        self.writes = writes = HeldWrites(connection)
        permits = SqlPermits(connection, lines, writes)
        self._permits = permits
        self.permits = permits
        self.balances = permits
        self.early_statuses = SqlEarlyStatuses(connection)
        self.usages = SqlUsages(connection, writes)
        self.declarations = SqlDeclarations(connection, writes)
        self.inbox = SqlInbox(connection)
        self.outbox = SqlOutbox(connection, writes)
        self.audit = SqlAuditTrail(connection, writes)
        self.hs_tables = SqlHsTableVersions(connection)
        self.hs_drafts = SqlHsDrafts(connection)
        self.admin_audit = SqlAdminAuditTrail(connection)
        self.trade = SqlTradeControls(connection, writes)

    def hold_writes(self) -> None:
        """PostgreSQL: the writes from here on go with the commit, in one round trip
        (pipeline.py ``HeldWrites``); SQLite, or a listener on the statements: at once."""
        self.writes.hold()

    def committed(self) -> None:
        """Called once the transaction committed: what it wrote may now be kept."""
        self._permits.committed()


class SqlAlchemyLedger(Ledger):
    def __init__(self, engine: Engine):
        self.engine = engine
        #: decoded permit lines shared by this process's transactions (permit_reader.py)
        self.lines = LineCache()
        #: SQLite admits one writer: other writers on this engine take their turn here too
        self.write_turn: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        """A writing transaction. On SQLite, threads of one process queue on a lock first:
        SQLite admits one writer anyway, and its busy handler would make the others sleep in
        growing steps (hundreds of milliseconds under load) instead of taking their turn."""
        with self.write_turn:
            with writing(self.engine) as connection:
                uow = SqlUnitOfWork(connection, self.lines)
                yield uow
                uow.writes.commit()  # what it held, with the COMMIT (none held: below)
            uow.committed()  # only once the commit went through

    @contextmanager
    def snapshot(self) -> Iterator[SqlUnitOfWork]:
        with reading(self.engine) as connection:
            yield SqlUnitOfWork(connection, self.lines)
