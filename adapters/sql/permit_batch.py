"""A batch of permit events in few statements (the ``PermitBatchRows`` port, issue 14).

``PermitService.receive_batch`` applies the events a consumer received together in one
transaction. Looked at one by one, each event costs half a dozen statements (its lock, its
inbox row, its permit, its pending status, its stamp, its audit row), which on PostgreSQL are
as many round trips. Here the batch's look-ups are one statement each (``IN (...)``), and the
new permits it brings, by far the common case, are written with one ``executemany`` per table:
permits, their lines, the audit rows and the inbox rows. Everything else (an amendment, a
status event, a permit seen twice in the batch) goes the ordinary way (permit_store.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, literal_column, select, text, union_all
from sqlalchemy.exc import IntegrityError

from cites_connector.adapters.sql import locks
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.audit_ledger import keyed_row
from cites_connector.adapters.sql.codec import line_to_row, permit_to_row
from cites_connector.adapters.sql.ledger import SqlUnitOfWork
from cites_connector.domain.usages import DeclarationState
from cites_connector.services.permit_intake import BatchKnown, NewPermit, PermitBatchRows
from cites_connector.services.ports import DuplicateDecision, InboxEntry, UnitOfWork

_p, _i, _s = t.permits.c, t.inbox.c, t.pending_permit_status.c
_c, _d, _dl = t.held_citations.c, t.decisions.c, t.declarations.c
#: what the batch needs to know, in one statement: its permits stored, the statuses kept for
#: them and its messages applied before
_KNOWN = union_all(
    select(literal_column("'p'"), _p.permit_number, _p.issuing_country).where(
        _p.permit_number.in_(bindparam("numbers", expanding=True))
    ),
    select(literal_column("'s'"), _s.permit_number, _s.issuing_country).where(
        _s.permit_number.in_(bindparam("numbers", expanding=True))
    ),
    select(literal_column("'i'"), _i.message_id, _i.body_digest).where(
        _i.message_id.in_(bindparam("ids", expanding=True))
    ),
)
#: plain ``executemany`` and the ids read back: an INSERT .. RETURNING of many rows is one
#: long statement that psycopg parses anew each time (too long for its cache)
_INSERT_PERMITS = insert(t.permits)
_IDS = select(_p.id, _p.permit_number, _p.issuing_country).where(
    _p.permit_number.in_(bindparam("numbers", expanding=True))
)
_INSERT_LINES = insert(t.permit_lines)
_INSERT_AUDIT = insert(t.audit_log)
_INSERT_INBOX = insert(t.inbox)
#: the held declarations citing any of the numbers, in the order releases.py decides them
_HELD_CITING = (
    select(_c.permit_number, _d.declaration_id)
    .select_from(
        t.held_citations.join(
            t.decisions, and_(_d.declaration_id == _c.declaration_id, _d.version == _c.version)
        ).join(
            t.declarations,
            and_(_dl.declaration_id == _d.declaration_id, _dl.latest_version == _d.version),
        )
    )
    .where(
        _c.permit_number.in_(bindparam("numbers", expanding=True)),
        _dl.state == DeclarationState.HELD.value,
    )
    .order_by(_d.decided_at, _d.declaration_id)
)
#: every key in one round trip; ``unnest`` yields the sorted keys in order, so the locks are
#: taken in the fixed order of locks.py
_LOCK_ALL = text(
    "SELECT pg_advisory_xact_lock(:space, k) FROM unnest(CAST(:keys AS integer[])) AS k"
)
#: a new permit's first stamp (permit_reader.py): what ``SqlPermits.save`` leaves on it
_FIRST_STAMP = 1
_MAX_OUTCOME = 2000


class SqlPermitBatch(PermitBatchRows):
    def __init__(self, connection: Connection):
        self.c = connection
        self.postgres = connection.dialect.name == "postgresql"

    def lock(self, permit_numbers: Iterable[str]) -> None:
        keys = sorted({locks.lock_key(n) for n in permit_numbers})
        if self.postgres and keys:
            self.c.execute(_LOCK_ALL, {"space": locks.PERMITS, "keys": keys})

    def known(self, permit_numbers: Sequence[str], message_ids: Sequence[str]) -> BatchKnown:
        known = BatchKnown(set(), set(), {})
        if not permit_numbers and not message_ids:
            return known
        params = {"numbers": list(permit_numbers), "ids": list(message_ids)}
        for kind, first, second in self.c.execute(_KNOWN, params):
            if kind == "p":
                known.stored.add((first, second))
            elif kind == "s":
                known.pending.add((first, second))
            else:
                known.seen[first] = InboxEntry(first, second)
        return known

    def insert_new(self, permits: Sequence[NewPermit]) -> None:
        if not permits:
            return
        try:
            self.c.execute(
                _INSERT_PERMITS,
                [permit_to_row(n.permit) | {"balance_stamp": _FIRST_STAMP} for n in permits],
            )
        except IntegrityError as exc:  # PostgreSQL: another event of a new permit won
            raise DuplicateDecision("a permit of the batch was stored concurrently") from exc
        numbers = sorted({n.permit.permit_number for n in permits})
        ids = {(r[1], r[2]): r[0] for r in self.c.execute(_IDS, {"numbers": numbers})}
        lines: list[dict[str, Any]] = []
        for new in permits:
            extra = {"permit_id": ids[new.permit.key], "stamp": _FIRST_STAMP}
            lines.extend(line_to_row(line) | extra for line in new.permit.lines)
        if lines:
            self.c.execute(_INSERT_LINES, lines)
        self.c.execute(
            _INSERT_AUDIT,
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
                self.c.execute(_INSERT_INBOX, inbox)
            except IntegrityError as exc:  # a concurrent consumer applied one first
                raise DuplicateDecision("a message of the batch was applied already") from exc

    def held_citing(self, permit_numbers: Sequence[str]) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {n: [] for n in permit_numbers}
        if permit_numbers:
            for number, declaration_id in self.c.execute(
                _HELD_CITING, {"numbers": list(permit_numbers)}
            ):
                held[number].append(declaration_id)
        return held


def permit_batch_rows(uow: UnitOfWork) -> PermitBatchRows | None:
    """The batch rows on a SQL unit of work's connection; None for another ledger."""
    return SqlPermitBatch(uow.connection) if isinstance(uow, SqlUnitOfWork) else None
