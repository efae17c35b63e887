"""Issue 9, item 4: a CITES item declared with no quantity, or a quantity of zero.

Before the fix an item of 0 specimens (or 0 kg) cleared: the permit line "fitted" and nothing
was written off, so the goods left on a clearance that endorsed none of them; on a SINGLE
permit it even used the permit up. Contract 5 (v2): ``QUANTITY_MISSING`` — the quantity the
permit line counts in must be present and above zero. Nothing can be written off for such an
item, so it is held whatever severity an administration gives the check.
"""

from __future__ import annotations

import pytest

from tests.hostile.clearance_kit import codes, edited_sad, soap_service, write_offs

PYTHON_QUANTITY = "Item/Tarification/Supplementary_unit/Suppplementary_unit_quantity"
PYTHON_UNIT = "Item/Tarification/Supplementary_unit/Suppplementary_unit_code"
PYTHON_NET_MASS = "Item/Valuation_item/Weight_itm/Net_weight_itm"
SKINS_NET_MASS = "Item[2]/Valuation_item/Weight_itm/Net_weight_itm"

CASES = {
    # pythons: permit 26NA000123 line A counts specimens (supplementary quantity)
    "zero specimens": ({PYTHON_QUANTITY: "0"}, 0),
    "zero with decimals": ({PYTHON_QUANTITY: "0.000000"}, 0),
    "no quantity at all": ({PYTHON_QUANTITY: None, PYTHON_UNIT: None, PYTHON_NET_MASS: None}, 0),
    # skins: permit 26NA000131 line A counts kilograms (net mass)
    "zero net mass": ({SKINS_NET_MASS: "0.0"}, 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("severity", ["block", "flag"])
def test_an_item_without_a_quantity_above_zero_is_held_and_nothing_is_written_off(
    tmp_path, case, severity
):
    changes, index = CASES[case]
    with soap_service(tmp_path, severities={"QUANTITY_MISSING": severity}) as service:
        before = write_offs(service.app.engine)

        result = service.client().check_declaration("QTY-0", 1, edited_sad(changes))

        assert result["Decision"] == "HELD"
        item = result["Items"][index]
        assert item["Status"] == "HELD"
        assert codes(item["Reasons"]) == ["QUANTITY_MISSING"]
        assert item["Reasons"][0]["Message"]
        assert write_offs(service.app.engine) == before
        assert service.app.permits.balance("26NA000123", "NA").permit.used_by is None
