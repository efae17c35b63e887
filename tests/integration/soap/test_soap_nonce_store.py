"""The WS-Security nonce store on SQLite and PostgreSQL (contract section 1, v2)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.adapters.sql.wss_nonces import SqlNonceStore

NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def rows(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(t.wss_nonces)).scalar()


def test_a_nonce_is_new_once_per_user_within_its_window(engine):
    store = SqlNonceStore(engine)
    assert store.remember("customs", b"n-1", NOW + 300, NOW)
    assert not store.remember("customs", b"n-1", NOW + 310, NOW + 10)
    assert store.remember("backup", b"n-1", NOW + 310, NOW + 10)  # another user's nonce
    assert not store.remember("customs", b"n-1", NOW + 600, NOW + 300)  # at the very end


def test_a_nonce_past_its_window_may_be_used_again_and_old_nonces_are_purged(engine):
    store = SqlNonceStore(engine, purge_every=60)
    for n in range(5):
        assert store.remember("customs", f"old-{n}".encode(), NOW + 300 + n, NOW + n)
    assert rows(engine) == 5  # nothing had expired when the first call purged
    assert store.remember("customs", b"old-0", NOW + 700, NOW + 400)  # its window has passed
    assert rows(engine) == 1  # old-1..old-4 are purged; old-0, used again, stays
    assert not store.remember("customs", b"old-0", NOW + 710, NOW + 410)


def test_racing_processes_agree_on_one_first_use(engine):
    stores = [SqlNonceStore(engine) for _ in range(8)]
    start = threading.Barrier(len(stores))
    results: list[bool] = []

    def use(store: SqlNonceStore) -> None:
        start.wait()
        results.append(store.remember("customs", b"raced", NOW + 300, NOW))

    threads = [threading.Thread(target=use, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False] * 7 + [True]
