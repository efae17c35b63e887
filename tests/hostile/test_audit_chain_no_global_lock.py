"""Issue 9, item 10 under issue 14's constraint: chaining the ledger's audit rows must not
make clearances wait on each other.

Every clearance writes an audit row in its own transaction, and several connector processes
share one PostgreSQL. A chain linked at insert (each row hashing the one before) would make
every clearance wait for the previous one to commit: one global lock. The rows are keyed at
insert (each its own MAC) and linked later by the sealing step, so two transactions never
wait on each other, and a row that commits after a later one was sealed is sealed in its
turn, not lost.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from cites_connector.adapters.sql.audit_checks import seal_ledger, verify_chains
from cites_connector.adapters.sql.audit_key import StaticAuditKey, with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.adapters.sql.migrate import upgrade

KEY = StaticAuditKey(bytes(range(32)))
AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def ledgers(postgres_url):
    """Two ledgers on one PostgreSQL database, as two connector processes have."""
    engines = [with_audit_key(make_engine(postgres_url), KEY) for _ in range(2)]
    upgrade(engines[0])
    yield [SqlAlchemyLedger(e) for e in engines]
    for engine in engines:
        engine.dispose()


def test_two_transactions_write_audit_rows_without_waiting_and_both_are_sealed(ledgers):
    first, second = ledgers
    inserted, release, failures = threading.Event(), threading.Event(), []

    def slow_clearance():
        try:
            with first.transaction() as session:
                session.audit.record("customs", "declaration.decided", "SLOW-1", {"n": 1}, AT)
                inserted.set()
                assert release.wait(30)
        except Exception as exc:
            failures.append(exc)
            inserted.set()

    worker = threading.Thread(target=slow_clearance)
    worker.start()
    assert inserted.wait(30)
    try:
        with second.transaction() as session:  # would wait here on a chain's global lock
            session.connection.execute(text("SET LOCAL lock_timeout = '2s'"))
            session.audit.record("customs", "declaration.decided", "FAST-1", {"n": 2}, AT)
        sealed_while_open = seal_ledger(second.engine)
    finally:
        release.set()
        worker.join(30)
    assert failures == []

    assert [r.subject for r in sealed_while_open.rows] == ["FAST-1"]
    late = seal_ledger(first.engine)
    assert [r.subject for r in late.rows] == ["SLOW-1"]  # committed later, sealed after
    report = verify_chains(first.engine, seal=False)
    assert report.ok, report
    assert report.ledger.sealed == 2 and report.ledger.waiting == 0


def test_sealing_runs_beside_an_open_clearance_without_blocking_it(ledgers):
    first, second = ledgers
    with first.transaction() as session:
        session.audit.record("customs", "declaration.decided", "OPEN-1", {"n": 1}, AT)
        done = threading.Event()
        threading.Thread(target=lambda: (seal_ledger(second.engine), done.set())).start()
        assert done.wait(10), "sealing waited on an open clearance"
    assert [r.subject for r in seal_ledger(first.engine).rows] == ["OPEN-1"]
