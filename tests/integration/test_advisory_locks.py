"""PostgreSQL advisory locks (adapters/sql/locks.py): several names of one key space are locked
in one statement, in the fixed order of their keys, whatever the order they are given in, so
two transactions locking the same names wait for each other and never deadlock."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from cites_connector.adapters.sql import locks

HELD = text(
    "SELECT objid, granted FROM pg_locks"
    " WHERE locktype = 'advisory' AND classid = :space AND pid = :pid"
)


def _unsigned(name: str) -> int:
    return locks.lock_key(name) & 0xFFFFFFFF


# PostgreSQL only: SQLite takes no advisory locks (it admits one writer)
@pytest.mark.parametrize("sql_ledger", ["postgres"], indirect=True)
def test_names_are_locked_in_one_statement_in_the_order_of_their_keys(sql_ledger):
    engine = sql_ledger.engine
    first, middle, last = sorted(["P-ONE", "P-TWO", "P-THREE"], key=locks.lock_key)
    statements: list[str] = []
    done = threading.Event()
    with engine.connect() as holder, engine.connect() as waiter:
        holder.begin()
        locks.lock_names(holder, locks.PERMITS, [middle])
        waiter_pid = waiter.execute(text("SELECT pg_backend_pid()")).scalar()
        waiter.commit()
        event.listen(waiter, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def lock_all() -> None:
            with waiter.begin():
                locks.lock_names(waiter, locks.PERMITS, [last, middle, first])
                done.set()

        thread = threading.Thread(target=lock_all)
        thread.start()
        with engine.connect() as watcher:
            deadline = time.monotonic() + 10
            seen: dict[int, bool] = {}
            while time.monotonic() < deadline and False not in seen.values():
                rows = watcher.execute(HELD, {"space": locks.PERMITS, "pid": waiter_pid})
                seen = {int(objid): bool(granted) for objid, granted in rows}
                time.sleep(0.02)
        # the first key taken, the second waited for, the third not asked yet
        assert seen == {_unsigned(first): True, _unsigned(middle): False}
        assert not done.is_set()
        holder.commit()
        thread.join(10)
        assert done.is_set()
    assert len(statements) == 1, statements
