"""A clearance on PostgreSQL sends its own BEGIN, with its first read (pipeline.py
``begin_held``): its connection is lent in autocommit mode for that one transaction, and must
come back to the pool as it was, whatever the transaction's end, so that the next transaction
on it (any, not only a clearance) is one transaction again, all or nothing.

Each case ends with a plain writing transaction on the same pool that fails after a write: the
write must be rolled back. On a connection left in autocommit mode it would stay.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from cites_connector.adapters.sql.audit_key import with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.adapters.sql.transactions import writing
from cites_connector.app import build_services
from cites_connector.domain.errors import Unavailable, UnstorableValue
from cites_connector.domain.permits import ConsignmentPolicy
from tests.conftest import TEST_AUDIT_KEY
from tests.integration.kit import Clock, export, permit, python_item, pythons, remaining, rulebook
from tests.integration.test_pool_ping import _backend, _terminate

pytestmark = pytest.mark.postgres

NONCES = text("SELECT count(*) FROM wss_nonces WHERE username = :u")


@pytest.fixture
def ledger(postgres_url):
    """A pool of one connection (every transaction gets the one a clearance had), pinged only
    after a minute idle."""
    engine = make_engine(postgres_url, pool_size=1, ping_after_idle_s=60)
    engine = with_audit_key(engine, TEST_AUDIT_KEY)
    upgrade(engine)
    yield SqlAlchemyLedger(engine)
    engine.dispose()


def _clearance(ledger):
    built = build_services(ledger, rulebook(), clock=Clock(), new_id=lambda: str(uuid.uuid4()))
    built.permits.apply(permit("P1", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    return built.clearance


def _one_transaction_again(ledger) -> None:
    """A write, then a failure, in one plain transaction on the pool's connection: nothing
    stays, and the driver connection is out of autocommit mode."""
    user = f"u-{uuid.uuid4().hex[:8]}"
    lent = []

    def write_then_fail() -> None:
        with writing(ledger.engine) as connection:
            lent.append(connection.connection.dbapi_connection.autocommit)
            connection.execute(
                text("INSERT INTO wss_nonces VALUES (:u, :n, now())"), {"u": user, "n": "0" * 64}
            )
            raise RuntimeError("after the write")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert lent == [False]
    with ledger.engine.connect() as connection:
        assert connection.execute(NONCES, {"u": user}).scalar_one() == 0


def test_a_cleared_and_a_repeated_declaration_give_their_connection_back_as_it_was(ledger):
    clearance = _clearance(ledger)
    declaration = export(python_item(1, 10, "P1"))
    assert clearance.clear("D1", 1, declaration).decision.cleared
    _one_transaction_again(ledger)
    assert clearance.clear("D1", 1, declaration).repeated  # BEGIN sent, then COMMIT alone
    _one_transaction_again(ledger)
    assert remaining(ledger, "P1") == 30


def test_a_clearance_refused_at_its_commit_gives_its_connection_back_as_it_was(ledger):
    clearance = _clearance(ledger)
    with pytest.raises(UnstorableValue):  # the audit row's actor, refused with the COMMIT
        clearance.clear("D1", 1, export(python_item(1, 10, "P1")), actor="a" * 200)
    assert remaining(ledger, "P1") == 40  # the draw went back with the rest
    _one_transaction_again(ledger)
    assert clearance.clear("D1", 1, export(python_item(1, 10, "P1"))).decision.cleared


def test_a_connection_dropped_under_a_clearance_is_not_lent_again(ledger, postgres_url):
    clearance = _clearance(ledger)
    _terminate(postgres_url, _backend(ledger.engine))  # in steady use: no ping before use
    with pytest.raises(Unavailable):
        clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    _one_transaction_again(ledger)
    assert clearance.clear("D1", 1, export(python_item(1, 10, "P1"))).decision.cleared
    assert remaining(ledger, "P1") == 30
