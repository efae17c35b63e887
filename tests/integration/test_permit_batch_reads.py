"""The batch's look-ups on SQLite (adapters/sql/permit_batch_reads.py, issue 14): for up to
``MOST`` values a statement built once per count runs on the driver; it must give the rows the
expanding ``IN`` statement gives, for every count, and larger or empty lists go the expanding
way. PostgreSQL's look-up of what is known (``KNOWN_PG``) gives the expanding statement's
rows too."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from cites_connector.adapters.sql import permit_batch_reads as reads
from cites_connector.domain.decisions import DeclarationDecision
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from tests.conftest import _sql_ledger
from tests.integration.kit import export, permit, python_item, pythons, services

STORED = [f"P-{k:03d}" for k in range(0, 80, 2)]  # every other number stored


def _stocked(url: str, *, held: bool = True):
    """A ledger holding every other permit number, a status kept for a permit not stored
    yet and (``held``) declarations held for unknown permits."""
    ledger = _sql_ledger(url)
    clearance, permits = services(ledger)
    for number in STORED:
        permits.receive_permit(permit(number, pythons(5)), message_id=f"m-{number}")
    change = PermitStatusChange("P-001", "NA", 1, PermitStatus.CANCELLED)
    permits.receive_status(change, message_id="m-early")
    for k, number in enumerate(["P-003", "P-005", "P-003"] if held else []):
        found = clearance.clear(f"D{k}", 1, export(python_item(1, 1, number)))
        assert found.decision.decision is DeclarationDecision.HELD
    return ledger


@pytest.fixture
def ledger(sqlite_url):
    ledger = _stocked(sqlite_url)
    yield ledger
    ledger.engine.dispose()


def expanding(connection, statement, **params):
    return sorted(tuple(r) for r in connection.execute(statement, params))


@pytest.mark.parametrize("count", [0, 1, 2, 7, 20, reads.MOST, reads.MOST + 1, 100])
def test_the_prebuilt_look_ups_give_the_expanding_statements_rows(ledger, count):
    numbers = [f"P-{k:03d}" for k in range(count)]
    ids = [f"m-{n}" for n in numbers[: max(count // 2, 1)]] + ["m-early", "m-none"]
    with ledger.engine.begin() as c:
        known = reads.known_rows(c, numbers, ids)
        assert sorted(known) == expanding(c, reads._KNOWN, numbers=numbers, ids=ids)
        assert ("i", "m-early", None) in known
        assert (("s", "P-001", "NA") in known) == (count > 1)
        assert sorted(reads.id_rows(c, numbers)) == expanding(c, reads._IDS, numbers=numbers)
        held = reads.held_rows(c, numbers)
        # in the order releases.py decides them, not sorted
        assert held == [tuple(r) for r in c.execute(reads._HELD_CITING, {"numbers": numbers})]
    if count > 5:
        assert held == [("P-003", "D0"), ("P-005", "D1"), ("P-003", "D2")]
        stored = {(n, "NA") for n in STORED} & {(n, "NA") for n in numbers}
        assert {(r[1], r[2]) for r in known if r[0] == "p"} == stored


@pytest.mark.parametrize("count", [1, 20, reads.MOST])
def test_the_look_ups_run_prebuilt_up_to_most_values(ledger, count):
    """One prebuilt statement per count, reused; SQLAlchemy's execution not involved."""
    numbers = [f"P-{k:03d}" for k in range(count)]
    with ledger.engine.begin() as c:
        seen: list[str] = []
        reads.known_rows(c, numbers, ["m-early"])
        key = (reads.slots(count), 1)
        built = dict(reads._KNOWN_BY._built)
        assert key in built  # made by the look-up itself
        reads.known_rows(c, numbers, ["m-early"])
        assert reads._KNOWN_BY._built[key] is built[key]
        event.listen(c, "before_execute", lambda *a: seen.append("execute"))
        reads.held_rows(c, numbers)
        reads.id_rows(c, numbers)
        reads.known_rows(c, numbers, ["m-early"])
        assert seen == []  # the driver's cursor, not Connection.execute
        reads.id_rows(c, [f"P-{k:03d}" for k in range(reads.MOST + 1)])
        assert seen == ["execute"]  # over MOST: the expanding statement


def test_few_statements_serve_every_batch_size(ledger):
    """Counts are rounded up to a power of two, the last value repeated: a padded list finds
    what the list finds, and at most 7 statements per list are kept."""
    assert [reads.slots(n) for n in (1, 2, 3, 5, 8, 9, 20, 33, 64)] == [
        1,
        2,
        4,
        8,
        8,
        16,
        32,
        64,
        64,
    ]
    with ledger.engine.begin() as c:
        for count in range(1, reads.MOST + 1):
            numbers = [f"P-{k:03d}" for k in range(count)]
            reads.id_rows(c, numbers)
            reads.known_rows(c, numbers, [f"m-{n}" for n in numbers])
        three = reads.known_rows(c, ["P-000", "P-001", "P-002"], ["m-P-000", "m-early"])
    assert set(reads._IDS_BY._built) <= {(1 << b,) for b in range(7)}
    assert len(reads._KNOWN_BY._built) <= 7 * 7
    assert sorted(three) == [
        ("i", "m-P-000", None),
        ("i", "m-early", None),
        ("p", "P-000", "NA"),
        ("p", "P-002", "NA"),
        ("s", "P-001", "NA"),
    ]


@pytest.fixture
def pg_ledger(postgres_url):
    ledger = _stocked(postgres_url, held=False)
    yield ledger
    ledger.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("count", [0, 1, 2, 20, 100])
def test_the_postgresql_look_up_gives_the_expanding_statements_rows(pg_ledger, count):
    """PostgreSQL's look-up probes the index once per value (``KNOWN_PG``): the rows of the
    expanding ``IN`` statement, for none to many values, known and unknown."""
    numbers = [f"P-{k:03d}" for k in range(count)]
    ids = [f"m-{n}" for n in numbers[: max(count // 2, 1)]] + ["m-early", "m-none"]
    with pg_ledger.engine.begin() as c:
        found = sorted(
            tuple(r) for r in c.execute(reads.KNOWN_PG, {"numbers": numbers, "ids": ids})
        )
        assert found == expanding(c, reads._KNOWN, numbers=numbers, ids=ids)
        assert ("i", "m-early", None) in found
        assert (("s", "P-001", "NA") in found) == (count > 1)
        assert len([r for r in found if r[0] == "p"]) == len(set(numbers) & set(STORED))
