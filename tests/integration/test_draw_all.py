"""A decision's write-offs drawn all at once (``Balances.draw_all``, adapters/sql/permit_rows.py):
the same outcome as drawing them one by one, in two statements on SQL.

Several draws on one line are taken only if their sum remains; a refused line leaves the
transaction to be rolled back, and nothing of it stays.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event

from cites_connector.domain.permits import ConsignmentPolicy
from tests.integration.kit import permit, pythons, remaining, services

MULTIPLE = ConsignmentPolicy.MULTIPLE


@pytest.fixture
def two_permits(sql_ledger):
    _, permits = services(sql_ledger)
    permits.apply(permit("M1", pythons(10), pythons(20, "B"), policy=MULTIPLE))
    permits.apply(permit("M2", pythons(5), policy=MULTIPLE))
    return sql_ledger


def _statements(ledger):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(ledger.engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(ledger.engine, "before_cursor_execute", record)


def test_every_draw_is_taken_in_two_statements_and_the_views_follow(two_permits):
    ledger = two_permits
    with ledger.transaction() as session:
        session.permits.lock(["M1", "M2"])
        seen, stop = _statements(ledger)
        draws = [
            ("M1", "NA", "A", Decimal(3)),
            ("M2", "NA", "A", Decimal(5)),
            ("M1", "NA", "A", Decimal(4)),  # the same line again: 7 of 10 in all
            ("M1", "NA", "B", Decimal("0.5")),
        ]
        assert session.balances.draw_all(draws) is None
        stop()
        assert len(seen) == 2
        assert session.permits.get("M1", "NA").line("A").remaining == 3
        assert session.permits.get("M1", "NA").line("B").remaining == Decimal("19.5")
        assert session.permits.get("M2", "NA").line("A").remaining == 0
    assert [remaining(ledger, "M1", letter) for letter in "AB"] == [3, Decimal("19.5")]
    assert remaining(ledger, "M2") == 0


@pytest.mark.parametrize(
    ("draws", "refused"),
    [
        ([("M1", "NA", "A", Decimal(6)), ("M1", "NA", "A", Decimal(5))], {0, 1}),  # 11 of 10
        ([("M1", "NA", "B", Decimal(1)), ("M2", "NA", "A", Decimal(6))], {1}),
    ],
)
def test_a_line_short_of_the_sum_is_refused_and_nothing_stays(two_permits, draws, refused):
    ledger = two_permits

    found: list[int | None] = []

    def draw_then_roll_back() -> None:
        with ledger.transaction() as session:
            session.permits.lock(["M1", "M2"])
            found.append(session.balances.draw_all(draws))
            raise RuntimeError("refused: rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        draw_then_roll_back()
    assert found[0] in refused
    assert [remaining(ledger, "M1", letter) for letter in "AB"] == [10, 20]
    assert remaining(ledger, "M2") == 5


def test_permits_not_read_first_are_drawn_on_one_by_one(two_permits):
    ledger = two_permits
    with ledger.transaction() as session:  # no lock, so no line ids: the port's own loop
        draws = [("M1", "NA", "A", Decimal(2)), ("M2", "NA", "A", Decimal(1))]
        assert session.balances.draw_all(draws) is None
        assert session.balances.draw_all([("M2", "NA", "A", Decimal(9))]) == 0
    assert remaining(ledger, "M1") == 8 and remaining(ledger, "M2") == 4
