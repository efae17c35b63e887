"""Issue 11: ways a trader could try to pass CITES specimens on a document that is not theirs
to use, each decided through the real decision service (the case table's runner) and held.

- a permit line that understates the appendix (II for Kenyan ivory, Appendix I) to spare the
  home import permit: the listing of the population applies (IMP-13);
- a foreign export permit whose own end date runs for years: six months from issue (VAL-02);
- an export permit, for home-origin specimens, used for goods of foreign origin (EXP-23);
- a line naming another origin than the declaration (EXP-24, RX-04);
- a certificate of origin, which needs only a national check, for an Appendix II species
  (III-03); a captive-breeding certificate for wild-caught birds (CB-03);
- more goods than the exporting officer endorsed in box 14 (BOX14-02);
- another circus's travelling-exhibition certificate (TE-02);
- an Appendix I import for trade (IMP-03).
"""

from __future__ import annotations

import pytest

from tests.memory_ledger import MemoryLedger
from tests.unit.test_decision_cases import assert_as_expected, case_named, decide_case


@pytest.mark.parametrize(
    "case_id",
    [
        "IMP-13",
        "VAL-02",
        "EXP-23",
        "EXP-24",
        "RX-04",
        "III-03",
        "CB-03",
        "BOX14-02",
        "TE-02",
        "IMP-03",
    ],
)
def test_the_trick_is_held_and_nothing_is_written_off(case_id):
    case = case_named(case_id)
    decided = decide_case(MemoryLedger(), case)
    assert decided.decision.decision.value == "HELD"
    assert decided.usages == []
    assert_as_expected(case, decided)
