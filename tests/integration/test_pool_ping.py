"""PostgreSQL: a pooled connection is pinged before use only after it sat idle
(adapters/sql/engine.py), not on every checkout as ``pool_pre_ping`` did: a connection in
steady use costs no round trip more per transaction. A connection the database dropped while it
was idle is replaced before use; one dropped while in steady use fails one transaction, as the
database being unavailable, and the pool is renewed for the next."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.permit_batch_pg import in_own_transaction
from cites_connector.adapters.sql.pipeline import can_pipeline, pipelined
from cites_connector.adapters.sql.transactions import writing
from cites_connector.domain.errors import Unavailable

BACKEND = text("SELECT pg_backend_pid()")


def _backend(engine) -> int:
    with writing(engine) as connection:
        return int(connection.execute(BACKEND).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            kill = text("SELECT pg_terminate_backend(:pid)")
            assert connection.execute(kill, {"pid": pid}).scalar()
            deadline = time.monotonic() + 10
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            while connection.execute(gone, {"pid": pid}).scalar() and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres_url):
    engine = make_engine(postgres_url, pool_size=1, ping_after_idle_s=0.2)
    try:
        first = _backend(engine)
        assert _backend(engine) == first  # the pooled connection is reused
        _terminate(postgres_url, first)
        time.sleep(0.3)  # idle past the threshold: pinged at checkout, found dead, replaced
        second = _backend(engine)
        assert second != first
        assert _backend(engine) == second
    finally:
        engine.dispose()


@contextmanager
def _dropped_in_use(postgres_url: str) -> Iterator[tuple[Engine, int]]:
    """A pool of one connection that pings only after a minute idle, whose connection the
    database dropped just after its last use (the engine and that connection's backend)."""
    engine = make_engine(postgres_url, pool_size=1, ping_after_idle_s=60)
    try:
        first = _backend(engine)
        _terminate(postgres_url, first)
        yield engine, first
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url):
    # no ping within the idle threshold: the dead connection is only found by the transaction
    # itself, which fails as the database being unavailable (nothing written), and the pool
    # is renewed, so the next transaction gets a new connection
    with _dropped_in_use(postgres_url) as (engine, first):
        with pytest.raises(Unavailable, match="not reachable"):
            _backend(engine)
        assert _backend(engine) != first


def test_a_connection_found_dead_by_a_pipeline_is_not_reused(postgres_url):
    # statements sent in psycopg's pipeline mode (a clearance's held rows, a permit batch's
    # look-up) raise the driver's error themselves: the connection must still be dropped,
    # not handed to the next transaction, which would fail again
    with _dropped_in_use(postgres_url) as (engine, first):

        def two_selects_pipelined() -> None:
            with writing(engine) as connection:
                assert can_pipeline(connection)
                pipelined(connection, [(text("SELECT 1"), {}), (text("SELECT 2"), {})])

        with pytest.raises(Unavailable, match="not reachable"):
            two_selects_pipelined()
        assert _backend(engine) != first


def test_a_connection_found_dead_by_a_batch_in_its_own_transaction_is_not_reused(postgres_url):
    # a permit batch sent with its BEGIN and COMMIT (permit_batch_pg.in_own_transaction) puts
    # the driver in autocommit mode meanwhile: a dead connection must be dropped all the same
    with _dropped_in_use(postgres_url) as (engine, first):

        def batch_in_own_transaction() -> None:
            with writing(engine) as connection:
                in_own_transaction(connection, [(text("SELECT 1"), {}), (text("SELECT 2"), {})])

        with pytest.raises(Unavailable, match="not reachable"):
            batch_in_own_transaction()
        assert _backend(engine) != first
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.autocommit is False
