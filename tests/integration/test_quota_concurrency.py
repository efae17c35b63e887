"""An export quota under two connector processes sharing one PostgreSQL ledger (contract 8).

Two processes (``multiprocessing``, spawned: each its own interpreter, engine and
connections) clear 30 declarations each, one python each, against a quota of 17 pythons and
a MULTIPLE permit with plenty left. Exactly 17 clear, the other 43 are held with
QUOTA_EXCEEDED, the quota's ``used`` is 17, and the active charges sum to 17: the deciding
transaction locks the quota row before it reads what is used, and the charge is a conditional
UPDATE that cannot pass the quota.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.postgres

PROCESSES = 2
PER_PROCESS = 30
QUOTA = 17
THREADS = 4


def clear_many(url: str, process: int, start) -> list[str]:
    """One connector process: its own engine, several threads clearing at once."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import _sql_ledger
    from tests.integration.kit import export, python_item, services

    ledger = _sql_ledger(url)
    start.wait()

    def clear(n: int) -> str:
        clearance, _ = services(ledger, unique_ids=True)
        declaration = export(python_item(1, 1, "M99"))
        decision = clearance.clear(f"P{process}-D{n}", 1, declaration).decision
        codes = [r.code.value for i in decision.items for r in i.reasons]
        return decision.decision.value + ("/" + ",".join(codes) if codes else "")

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            return list(pool.map(clear, range(PER_PROCESS)))
    finally:
        ledger.engine.dispose()


def test_two_processes_never_pass_a_quota_and_clear_exactly_what_fits(postgres_url):
    from cites_connector.adapters.sql.trade_schema import export_quotas, quota_charges
    from cites_connector.domain.permits import ConsignmentPolicy
    from tests.conftest import _sql_ledger
    from tests.integration.kit import permit, pythons, services
    from tests.integration.test_trade_controls_service import ADMIN, administration, python_quota

    ledger = _sql_ledger(postgres_url)
    _, permits = services(ledger)
    permits.apply(permit("M99", pythons(500), policy=ConsignmentPolicy.MULTIPLE))
    administration(ledger).set_quota(ADMIN, python_quota(QUOTA), "race quota")

    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(PROCESSES)
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(clear_many, [(postgres_url, p, start) for p in range(PROCESSES)])
    outcomes = Counter(o for result in results for o in result)

    assert outcomes == {"CLEARED": QUOTA, "HELD/QUOTA_EXCEEDED": PROCESSES * PER_PROCESS - QUOTA}
    with ledger.engine.connect() as c:
        used = c.execute(select(export_quotas.c.used_micro)).scalar_one()
        charged = c.execute(
            select(func.sum(quota_charges.c.quantity_micro)).where(
                quota_charges.c.reversed_at.is_(None)
            )
        ).scalar_one()
    assert used == charged == QUOTA * 1_000_000
    assert Decimal(used) / 1_000_000 == QUOTA
    ledger.engine.dispose()
