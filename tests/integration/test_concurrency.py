"""Concurrent clearances on the real databases: no line below zero, nothing written twice.

Many threads, each with its own service instance and its own database connections (as
several connector workers or processes would have), race for one MULTIPLE permit line.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from cites_connector.domain.permits import ConsignmentPolicy
from tests.integration.kit import export, permit, python_item, pythons, remaining, services

WORKERS = 12
DECLARATIONS = 30


def race(ledger, job) -> list:
    barrier = threading.Barrier(WORKERS)

    def run(n):
        if n < WORKERS:
            barrier.wait()
        return job(n)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run, range(DECLARATIONS)))


def test_exactly_ten_of_many_concurrent_declarations_clear_a_line_of_ten(sql_ledger):
    _, permits = services(sql_ledger)
    permits.apply(permit("M10", pythons(10), policy=ConsignmentPolicy.MULTIPLE))

    def clear(n):
        clearance, _ = services(sql_ledger, unique_ids=True)
        return clearance.clear(f"D{n}", 1, export(python_item(1, 1, "M10"))).decision

    decisions = race(sql_ledger, clear)
    assert sum(d.cleared for d in decisions) == 10
    assert remaining(sql_ledger, "M10") == 0
    with sql_ledger.snapshot() as s:
        usages = s.usages.find(permit=("M10", "NA"))
    assert len(usages) == 10 and len({u.declaration_id for u in usages}) == 10


def test_one_declaration_sent_concurrently_is_written_off_once(sql_ledger):
    _, permits = services(sql_ledger)
    permits.apply(permit("M10", pythons(10), policy=ConsignmentPolicy.MULTIPLE))

    def clear(_n):
        clearance, _ = services(sql_ledger, unique_ids=True)
        return clearance.clear("SAME", 1, export(python_item(1, 2, "M10")))

    outcomes = race(sql_ledger, clear)
    assert sum(not o.repeated for o in outcomes) == 1
    assert all(o.decision.cleared for o in outcomes)
    assert remaining(sql_ledger, "M10") == 8


def test_only_one_of_many_declarations_uses_a_single_permit(sql_ledger):
    _, permits = services(sql_ledger)
    permits.apply(permit("S40", pythons(40)))

    def clear(n):
        clearance, _ = services(sql_ledger, unique_ids=True)
        return clearance.clear(f"D{n}", 1, export(python_item(1, 1, "S40"))).decision

    decisions = race(sql_ledger, clear)
    assert sum(d.cleared for d in decisions) == 1
    assert remaining(sql_ledger, "S40") == 39
