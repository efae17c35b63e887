"""A batch of would-be new permits on PostgreSQL: locks, look-up, writes and the held
declarations' read in one round trip, the writes guarded by the look-up in the same statement
(``SqlPermitBatch.insert_unless_known``, issue 14). When the look-up finds anything (a permit
stored, a status kept for one, a message applied before) nothing is written by it and the
batch goes the usual way: the ledger ends as event by event, on every backend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.domain.decisions import DeclarationDecision
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from cites_connector.domain.usages import DeclarationState
from cites_connector.services.permits import IncomingEvent
from tests.integration.kit import export, permit, python_item, pythons, remaining, services
from tests.integration.libpq_trace import libpq_traced, message_types, round_trips

ACTOR = "permit-system"


def _count(ledger, table, *where) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar())


def _issued(ledger, number: str) -> int:
    a = t.audit_log.c
    return _count(ledger, t.audit_log, a.action == "permit.issued", a.subject == f"{number}/NA")


def test_a_stored_permit_among_new_ones_is_amended_and_the_others_stored_once(sql_ledger):
    clearance, permits = services(sql_ledger)
    held = clearance.clear("D1", 1, export(python_item(1, 10, "P-NEW")))
    assert held.decision.decision is DeclarationDecision.HELD
    permits.receive_permit(permit("P-OLD", pythons(40)), message_id="m-old")

    outcomes = permits.receive_batch(
        [
            IncomingEvent(permit("P-NEW", pythons(40)), ACTOR, "b-1"),
            IncomingEvent(permit("P-OLD", pythons(50), version=2), ACTOR, "b-2"),
            IncomingEvent(permit("P-ALSO", pythons(30)), ACTOR, "b-3"),
        ]
    )

    assert [o.applied.applied for o in outcomes] == [True, True, True]
    assert [d.declaration_id for d in outcomes[0].released] == ["D1"]
    assert clearance.stored("D1").state is DeclarationState.CLEARED
    assert remaining(sql_ledger, "P-NEW") == Decimal(30)
    assert remaining(sql_ledger, "P-OLD") == Decimal(50)
    assert remaining(sql_ledger, "P-ALSO") == Decimal(30)
    assert (_issued(sql_ledger, "P-NEW"), _issued(sql_ledger, "P-ALSO")) == (1, 1)
    assert _count(sql_ledger, t.permits) == 3
    assert _count(sql_ledger, t.inbox, t.inbox.c.message_id.like("b-%")) == 3


def test_a_status_kept_for_one_of_the_permits_is_applied_with_it(sql_ledger):
    _clearance, permits = services(sql_ledger)
    early = PermitStatusChange("P-EARLY", "NA", 1, PermitStatus.CANCELLED)
    permits.receive_status(early, message_id="m-early")

    outcomes = permits.receive_batch(
        [
            IncomingEvent(permit("P-EARLY", pythons(40)), ACTOR, "b-1"),
            IncomingEvent(permit("P-OTHER", pythons(40)), ACTOR, "b-2"),
        ]
    )

    assert [o.applied.applied for o in outcomes] == [True, True]
    assert permits.balance("P-EARLY", "NA").permit.status is PermitStatus.CANCELLED
    assert permits.balance("P-OTHER", "NA").permit.status is PermitStatus.VALID
    assert _count(sql_ledger, t.pending_permit_status) == 0


def test_a_batch_whose_message_was_applied_before_writes_only_the_new_ones(sql_ledger):
    _clearance, permits = services(sql_ledger)
    permits.receive_permit(permit("P-SEEN", pythons(40)), message_id="b-1", body_digest="d")

    outcomes = permits.receive_batch(
        [
            IncomingEvent(permit("P-SEEN", pythons(40)), ACTOR, "b-1", "d"),
            IncomingEvent(permit("P-FRESH", pythons(40)), ACTOR, "b-2", "e"),
        ]
    )

    assert [o.duplicate for o in outcomes] == [True, False]
    assert (_issued(sql_ledger, "P-SEEN"), _issued(sql_ledger, "P-FRESH")) == (1, 1)
    assert _count(sql_ledger, t.permits) == 2


@pytest.mark.parametrize("sql_ledger", ["postgres"], indirect=True)
def test_a_batch_of_new_permits_waits_for_the_server_once(sql_ledger, tmp_path):
    """BEGIN, the locks, the guarded writes, the held declarations' read and the COMMIT sent
    together. (Four before: BEGIN, for psycopg syncs after it; the locks and the look-up;
    the writes and the read; the COMMIT.)"""
    _clearance, permits = services(sql_ledger)
    permits.receive_batch([IncomingEvent(permit("P-WARM", pythons(4)), ACTOR, "w-1")])
    with libpq_traced(sql_ledger.engine.pool, tmp_path / "libpq.trace") as trace:
        outcomes = permits.receive_batch(
            [IncomingEvent(permit(f"P-{n}", pythons(4)), ACTOR, f"m-{n}") for n in range(20)]
        )
    assert all(o.applied.applied and not o.duplicate for o in outcomes)
    assert _count(sql_ledger, t.permits) == 21
    assert round_trips(message_types(trace)) == 1


@pytest.mark.parametrize("sql_ledger", ["postgres"], indirect=True)
def test_a_batch_refused_by_the_server_stores_nothing_and_leaves_the_connection_as_it_was(
    sql_ledger,
):
    """The batch's transaction sent with its BEGIN and COMMIT puts the driver in autocommit
    mode meanwhile: after a failure the transaction is rolled back and the connection goes
    back to the pool in its own mode, so the next transaction on it is one transaction."""
    from cites_connector.domain.errors import ConnectorError

    _clearance, permits = services(sql_ledger)
    modes: list[bool] = []

    def returned(dbapi, _record):
        modes.append(dbapi.autocommit)

    event.listen(sql_ledger.engine.pool, "checkin", returned)
    try:
        with pytest.raises(ConnectorError):
            permits.receive_batch(
                [
                    IncomingEvent(permit("P-1", pythons(4)), ACTOR, "m-1"),
                    IncomingEvent(permit("P-2", pythons(4)), "x" * 500, "m-2"),  # too long
                ]
            )
        assert _count(sql_ledger, t.permits) == 0
        assert _count(sql_ledger, t.inbox) == 0
        outcomes = permits.receive_batch(
            [IncomingEvent(permit(f"P-{n}", pythons(4)), ACTOR, f"m-{n}") for n in (1, 2)]
        )
    finally:
        event.remove(sql_ledger.engine.pool, "checkin", returned)
    assert all(o.applied.applied for o in outcomes)
    assert _count(sql_ledger, t.permits) == 2
    assert modes and not any(modes)


def test_the_guarded_statement_stays_short_enough_for_psycopgs_query_cache():
    """psycopg parses a statement's text anew on every execution when it is longer than its
    cache's limit (4,096 bytes in psycopg 3.3; the statement is about 4,000): the batch's
    statement must stay under it."""
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from cites_connector.adapters.sql.codec import line_to_row, permit_to_row
    from cites_connector.adapters.sql.permit_batch_pg import recordset_insert

    bulk = permit("P-1", pythons(4))
    names = (
        tuple(permit_to_row(bulk) | {"balance_stamp": 1}),
        tuple(line_to_row(bulk.lines[0]) | {"stamp": 1, "p_number": "", "p_country": ""}),
        ("actor", "action", "subject", "details", "at", "nonce", "mac"),
        ("message_id", "source", "outcome", "received_at", "body_digest"),
    )
    statement = recordset_insert(postgresql.psycopg.dialect(), *names, unless_known=True)
    assert len(statement.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
