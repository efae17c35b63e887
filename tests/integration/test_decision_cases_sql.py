"""Cases of the decision table whose facts live in the v2 permit line fields (box 14, the
origin permit of a re-export) or the v2 permit types, decided on the SQL ledgers: what the
permit says survives storage and reaches the rules (tests/unit/test_decision_cases.py runs
the whole table on the in-memory ledger)."""

from __future__ import annotations

import pytest

from tests.unit.test_decision_cases import assert_as_expected, case_named, decide_case


@pytest.mark.parametrize("case_id", ["BOX14-01", "BOX14-02", "TE-01", "IMP-16"])
def test_case_on_sql(sql_ledger, case_id):
    case = case_named(case_id)
    assert_as_expected(case, decide_case(sql_ledger, case))


def test_the_v2_line_fields_are_stored_and_read_back(sql_ledger):
    case = case_named("IMP-16")
    decide_case(sql_ledger, case_named("BOX14-01"))
    decide_case(sql_ledger, case)
    with sql_ledger.snapshot() as uow:
        box14 = uow.permits.get("TG-2026-0157", "TG")
        re_export = uow.permits.get("IT/2026/R/04412", "IT")
    assert str(box14.lines[0].exported_quantity) == "35"
    assert re_export.lines[0].origin_permit_number == "MY-SWK-2025-1177"
    assert box14.lines[0].origin_permit_number is None
    assert re_export.lines[0].exported_quantity is None
