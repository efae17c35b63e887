"""Everything that changes one declaration, at once, on the real databases (contract 1, 5, 8).

Customs may send a declaration, amend it and cancel it from several connector processes at the
same moment, while a permit event releases held declarations. Whatever the interleaving, a
declaration ends in one consistent state: either its latest version's usages are on the ledger
and it is not cancelled, or it is cancelled (or held) with nothing written off; never the
usages of two versions, never a cancelled declaration with usages, never a clearance reported
to customs after its cancellation. Each thread has its own service instance and connections,
as separate connector workers would.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import select

from cites_connector.adapters.sql import tables as t
from cites_connector.domain.errors import DeclarationCancelled, StaleVersion, UnknownDeclaration
from cites_connector.domain.permits import ConsignmentPolicy
from cites_connector.domain.usages import DeclarationState
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.permits import PermitService
from tests.integration.kit import (
    Clock,
    export,
    permit,
    python_item,
    pythons,
    rulebook,
    services,
)

THREADS = 8
#: refusals customs may rightly get while others change the declaration
EXPECTED_REFUSALS = (DeclarationCancelled, StaleVersion, UnknownDeclaration)


def run_together(jobs) -> list:
    """Run the jobs on THREADS threads, started at once; expected refusals are results."""
    barrier = threading.Barrier(min(THREADS, len(jobs)))

    def run(indexed):
        index, job = indexed
        if index < THREADS:
            barrier.wait()
        try:
            return job()
        except EXPECTED_REFUSALS as refused:
            return refused

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, enumerate(jobs)))


def assert_consistent(ledger, declaration_id: str) -> str:
    """The declaration's end state, after checking it against its usages."""
    with ledger.snapshot() as session:
        latest = session.declarations.latest(declaration_id)
        usages = session.usages.find(declaration_id=declaration_id)
    if latest is None:
        assert usages == []
        return "UNKNOWN"
    if latest.state in (
        DeclarationState.CANCELLED,
        DeclarationState.HELD,
        DeclarationState.NOT_CONCERNED,
    ):
        assert usages == [], f"{declaration_id} is {latest.state.value} with usages {usages}"
    else:
        versions = {u.declaration_version for u in usages}
        assert versions == {latest.decision.version}, (
            f"{declaration_id} version {latest.decision.version} has usages of {versions}"
        )
        assert len(usages) == len(latest.decision.write_offs)
    return latest.state.value


def assert_balances(ledger, number: str) -> None:
    """quantity - remaining = the active usages, line by line (the ledger's invariant)."""
    with ledger.snapshot() as session:
        found = session.permits.get(number, "NA")
        active = session.usages.find(permit=found.key)
    for line in found.lines:
        taken = sum((u.quantity for u in active if u.line == line.line), Decimal(0))
        assert line.quantity - line.remaining == taken


@pytest.mark.parametrize("round_", range(3))
def test_check_amend_and_cancel_of_one_declaration_from_many_threads(sql_ledger, round_):
    _, permits = services(sql_ledger)
    permits.apply(permit("M1", pythons(100_000), policy=ConsignmentPolicy.MULTIPLE))
    rng = random.Random(round_)

    def check(version: int):
        def job():
            clearance, _ = services(sql_ledger, unique_ids=True)
            return clearance.clear(
                "RACE", version, export(python_item(1, version, "M1"), python_item(2, 1, "M1"))
            )

        return job

    def cancel():
        clearance, _ = services(sql_ledger, unique_ids=True)
        return clearance.cancel("RACE", "race")

    jobs = [check(1)] + [
        rng.choice([check(1), check(2), check(3), cancel, cancel]) for _ in range(23)
    ]
    rng.shuffle(jobs)
    run_together(jobs)

    state = assert_consistent(sql_ledger, "RACE")
    assert state in ("CLEARED", "CANCELLED")
    assert_balances(sql_ledger, "M1")


@pytest.mark.parametrize("round_", range(2))
def test_amendments_moving_between_two_permits_from_many_threads(sql_ledger, round_):
    """Each version cites one of two permits: an amendment gives back what the version before
    took from the other. On PostgreSQL the cited permits are locked ahead, and an amendment
    whose earlier permit is not cited is decided again with its locks taken after the read
    (clearance.py ``_LockOthers``): no deadlock, no lost or doubled write-off."""
    _, permits = services(sql_ledger)
    for number in ("M1", "M2"):
        permits.apply(permit(number, pythons(100_000), policy=ConsignmentPolicy.MULTIPLE))
    rng = random.Random(round_)

    def check(declaration_id: str, version: int, number: str):
        def job():
            clearance, _ = services(sql_ledger, unique_ids=True)
            declaration = export(python_item(1, version, number))
            return clearance.clear(declaration_id, version, declaration)

        return job

    # two declarations, so that one moving M1 -> M2 meets one moving M2 -> M1
    jobs = [check(d, v, rng.choice(["M1", "M2"])) for d in ("A", "B") for v in range(1, 13)]
    rng.shuffle(jobs)
    run_together(jobs)
    assert assert_consistent(sql_ledger, "A") == assert_consistent(sql_ledger, "B") == "CLEARED"
    assert_balances(sql_ledger, "M1")
    assert_balances(sql_ledger, "M2")


class SharedClock:
    """One clock for every thread, one second further at each reading: the times written by
    transactions that serialise on a declaration then show their order."""

    def __init__(self):
        self._clock = Clock()
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self._clock()


def test_a_release_racing_amendments_and_cancellations_of_its_held_declarations(sql_ledger):
    clock = SharedClock()

    def clearance():
        return ClearanceService(sql_ledger, rulebook(), clock=clock, new_id=lambda: str(uuid4()))

    held = [f"H{n:03d}" for n in range(40)]
    for declaration_id in held:
        assert (
            not clearance()
            .clear(declaration_id, 1, export(python_item(1, 1, "P1")))
            .decision.cleared
        )
    amended, cancelled = held[::2], held[1::2]

    def release():
        permits = PermitService(sql_ledger, rulebook(), clock=clock, new_id=lambda: str(uuid4()))
        return permits.receive_permit(
            permit("P1", pythons(100_000), policy=ConsignmentPolicy.MULTIPLE)
        )

    jobs = [release]
    for amend_id, cancel_id in zip(amended, cancelled, strict=True):
        jobs.append(lambda d=amend_id: clearance().clear(d, 2, export(python_item(1, 2, "P1"))))
        jobs.append(lambda d=cancel_id: clearance().cancel(d, "withdrawn"))
    outcomes = run_together(jobs[:1] + random.Random(7).sample(jobs[1:], len(jobs) - 1))
    assert not [o for o in outcomes if isinstance(o, Exception)]

    for declaration_id in amended:
        assert assert_consistent(sql_ledger, declaration_id) == "CLEARED"
    for declaration_id in cancelled:
        assert assert_consistent(sql_ledger, declaration_id) == "CANCELLED"
    assert_balances(sql_ledger, "P1")
    assert_no_clearance_reported_after_a_cancellation(sql_ledger, cancelled)


def assert_no_clearance_reported_after_a_cancellation(ledger, cancelled: list[str]) -> None:
    with ledger.engine.connect() as connection:
        cancelled_at = dict(
            connection.execute(
                select(t.audit_log.c.subject, t.audit_log.c.at).where(
                    t.audit_log.c.action == "declaration.cancelled"
                )
            ).all()
        )
        callbacks = connection.execute(
            select(t.outbox.c.ordering_key, t.outbox.c.body, t.outbox.c.created_at).where(
                t.outbox.c.channel == "customs-callback"
            )
        ).all()
    assert set(cancelled) <= set(cancelled_at)
    late = [
        (key, body["decision"])
        for key, body, created in callbacks
        if key in cancelled_at and body["decision"] == "CLEARED" and created >= cancelled_at[key]
    ]
    assert late == []


def test_declarations_citing_a_permit_that_arrives_meanwhile_all_end_cleared(sql_ledger):
    """A decision made while its permit is being stored either sees the permit or is seen by
    the release that follows the permit: none stays held for a permit the ledger holds."""
    clock = SharedClock()
    ids = [f"N{n:03d}" for n in range(30)]

    def declare(declaration_id):
        clearance = ClearanceService(
            sql_ledger, rulebook(), clock=clock, new_id=lambda: str(uuid4())
        )
        return lambda: clearance.clear(declaration_id, 1, export(python_item(1, 1, "P2")))

    def arrive():
        permits = PermitService(sql_ledger, rulebook(), clock=clock, new_id=lambda: str(uuid4()))
        return permits.receive_permit(
            permit("P2", pythons(1000), policy=ConsignmentPolicy.MULTIPLE)
        )

    jobs = [declare(d) for d in ids]
    jobs.insert(len(jobs) // 3, arrive)
    assert not [o for o in run_together(jobs) if isinstance(o, Exception)]

    assert [assert_consistent(sql_ledger, d) for d in ids] == ["CLEARED"] * len(ids)
    assert_balances(sql_ledger, "P2")
