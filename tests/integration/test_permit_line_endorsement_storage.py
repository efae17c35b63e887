"""Box 14 (exported_quantity) and the origin permit of a re-export (origin_permit_number) are
kept by every ledger, and read back as they were given (contract 3.1 (v2))."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tests.integration.kit import permit, pythons, services


def test_endorsed_quantity_and_origin_permit_survive_the_ledger(ledger_backend):
    _, permits = services(ledger_backend)
    endorsed = replace(
        pythons(40), exported_quantity=Decimal("38.5"), origin_permit_number="25GH000017"
    )
    plain = pythons(10, "B")
    assert permits.receive_permit(permit("R1", endorsed, plain), message_id="m1").applied.applied
    line_a, line_b = permits.balance("R1", "NA", prefer_country="NA").permit.lines
    assert (line_a.exported_quantity, line_a.origin_permit_number) == (
        Decimal("38.5"),
        "25GH000017",
    )
    assert (line_b.exported_quantity, line_b.origin_permit_number) == (None, None)
