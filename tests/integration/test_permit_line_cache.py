"""Permit lines kept per process (adapters/sql/permit_reader.py) never show a stale quantity.

Two ``SqlAlchemyLedger`` objects on one database stand for two connector processes, each
keeping the decoded lines of the permits it has read. A change made by either is seen by the
other at its next read; a change rolled back is seen by neither.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitStatusChange
from tests.integration.kit import export, permit, python_item, pythons, remaining, services

MULTIPLE = ConsignmentPolicy.MULTIPLE


@pytest.fixture
def two_processes(sql_ledger):
    other = SqlAlchemyLedger(
        make_engine(sql_ledger.engine.url.render_as_string(hide_password=False))
    )
    yield sql_ledger, other
    other.engine.dispose()


def test_a_write_off_by_another_process_is_seen_at_the_next_read(two_processes):
    first, second = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), pythons(20, "B"), policy=MULTIPLE))
    assert remaining(first, "M1") == 10 and remaining(second, "M1") == 10  # both keep it

    clearance, _ = services(second, unique_ids=True)
    assert clearance.clear("D1", 1, export(python_item(1, 4, "M1"))).decision.cleared
    assert remaining(first, "M1") == 6

    clearance, _ = services(first, unique_ids=True)
    assert clearance.clear(
        "D2", 1, export(python_item(1, 6, "M1"), python_item(2, 1, "M1"))
    ).decision.cleared
    assert [remaining(second, "M1", letter) for letter in "AB"] == [0, 19]
    assert [remaining(first, "M1", letter) for letter in "AB"] == [0, 19]

    clearance.cancel("D1")
    assert remaining(second, "M1") == 4 and remaining(first, "M1") == 4


def test_a_write_off_rolled_back_is_not_remembered(two_processes):
    first, _ = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), policy=MULTIPLE))
    assert remaining(first, "M1") == 10

    def draw_then_fail() -> None:
        with first.transaction() as session:
            session.permits.lock(["M1"])
            assert session.balances.draw("M1", "NA", "A", Decimal(7))
            assert session.permits.get("M1", "NA").line("A").remaining == 3  # its own view
            raise RuntimeError("the rest of the decision failed")

    with pytest.raises(RuntimeError, match="the rest of the decision failed"):
        draw_then_fail()

    assert remaining(first, "M1") == 10
    clearance, _ = services(first, unique_ids=True)
    assert clearance.clear("D1", 1, export(python_item(1, 10, "M1"))).decision.cleared


def test_what_a_transaction_read_after_its_own_changes_is_not_kept_past_a_rollback(two_processes):
    first, second = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), policy=MULTIPLE))

    def draw_reread_then_fail() -> None:
        with first.transaction() as session:
            session.permits.lock(["M1"])
            session.balances.draw("M1", "NA", "A", Decimal(7))
            # a status change makes the session read the permit again, its own draw included
            session.permits.set_status(PermitStatusChange("M1", "NA", 1, PermitStatus.VALID))
            assert session.permits.get("M1", "NA").line("A").remaining == 3
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        draw_reread_then_fail()
    clearance, _ = services(second, unique_ids=True)  # the same stamp, another quantity
    assert clearance.clear("D1", 1, export(python_item(1, 1, "M1"))).decision.cleared

    assert remaining(first, "M1") == 9


def test_an_amended_permit_is_read_with_its_new_lines(two_processes):
    first, second = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), policy=MULTIPLE))
    assert remaining(second, "M1") == 10

    _, other_permits = services(second)
    other_permits.apply(permit("M1", pythons(10), pythons(5, "B"), version=2, policy=MULTIPLE))

    with first.snapshot() as session:
        amended = session.permits.get("M1", "NA")
    assert [ln.line for ln in amended.lines] == ["A", "B"] and amended.line("B").remaining == 5
    assert amended.content_version == 2


def test_the_lines_a_clearance_drew_on_are_kept_as_it_committed_them(two_processes):
    """The next transaction reads only the permit's head: the lines come from what the
    clearance committed (issue 14), and a change by another process is still seen."""
    first, second = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), pythons(20, "B"), policy=MULTIPLE))
    clearance, _ = services(first, unique_ids=True)
    assert clearance.clear("D1", 1, export(python_item(1, 4, "M1"))).decision.cleared

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(first.engine, "before_cursor_execute", record)
    try:
        with first.transaction() as session:
            session.permits.lock(["M1"])
            found = session.permits.get("M1", "NA")
            assert found is not None
            assert [found.line(x).remaining for x in "AB"] == [6, 20]
    finally:
        event.remove(first.engine, "before_cursor_execute", record)
    assert seen and not any("permit_lines" in s for s in seen), seen

    other, _ = services(second, unique_ids=True)
    assert other.clear("D2", 1, export(python_item(1, 1, "M1"))).decision.cleared
    assert remaining(first, "M1") == 5


# PostgreSQL only: SQLite admits one writer, so no draw can come between a read and a write
@pytest.mark.parametrize("sql_ledger", ["postgres"], indirect=True)
def test_a_draw_committed_between_a_read_and_a_write_is_never_hidden(two_processes):
    """A writer that took no permit lock (none of ours does; a hand-made one might) draws on
    line B between this transaction's read and its own draw on line A: the lines this one then
    commits are not kept as it saw them, so the next read shows B as the database has it."""
    first, second = two_processes
    _, permits = services(first)
    permits.apply(permit("M1", pythons(10), pythons(20, "B"), policy=MULTIPLE))
    assert remaining(first, "M1", "B") == 20

    with first.transaction() as session:
        assert session.permits.get("M1", "NA").line("B").remaining == 20  # read, no lock
        with second.transaction() as other:  # another connection draws 4 of B and commits
            assert other.balances.draw("M1", "NA", "B", Decimal(4))
        assert session.balances.draw("M1", "NA", "A", Decimal(3))

    assert [remaining(second, "M1", letter) for letter in "AB"] == [7, 16]
    assert [remaining(first, "M1", letter) for letter in "AB"] == [7, 16]
