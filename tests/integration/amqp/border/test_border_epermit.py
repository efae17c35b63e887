"""A foreign export permit that arrives as a CITES ePermit (Toolkit v2 XML, contract 3.1) on
``cites.permits``: box 14 caps what may be imported, and Art. VI(2) ends the permit six
months after issue whatever the document's own end date (contract 5 (v2))."""

from __future__ import annotations

import pytest

from tests.integration.amqp.amqp_kit import EPERMITS
from tests.integration.amqp.border.border_kit import Item, imported, reasons, usages

pytestmark = pytest.mark.rabbitmq

#: 30 grey parrots of source D, box 14 endorsed for 24 (tests/fixtures/epermit/README.md)
BOX14 = (EPERMITS / "26ZA004431-psittacus-box14-v2.xml").read_bytes()


def parrots(count: int, number: str = "26ZA004431"):
    return imported(
        Item(
            "0106320000",
            "live grey parrots",
            "ZA",
            str(count),
            net_mass="9",
            documents=[("C401", number)],
        )
    )


def issued(number: str, day: str) -> bytes:
    """The fixture as another permit, issued (and valid from) ``day``; it still says it is
    valid until 2027-05-02."""
    xml = BOX14.decode()
    for old, new in [
        (">26ZA004431<", f">{number}<"),
        (">2026-11-03T10:05:00+02:00<", f">{day}T10:05:00+02:00<"),
        (">2026-11-03T00:00:00+02:00<", f">{day}T00:00:00+02:00<"),
    ]:
        assert old in xml
        xml = xml.replace(old, new)
    return xml.encode()


def test_box_14_of_an_epermit_caps_the_import_at_what_was_exported(world):
    world.publish_epermit(BOX14, "26ZA004431", "ZA")
    [stored] = world.app.permits.balance("26ZA004431", "ZA").permit.lines
    assert (stored.quantity, stored.exported_quantity, stored.source) == (30, 24, "D")

    over = world.check("WDHA-I-B14", parrots(25))
    assert over["Decision"] == "HELD"
    [item] = over["Items"]
    assert reasons(item) == ["QUANTITY_EXCEEDS_EXPORTED"]
    assert "24" in item["Reasons"][0]["Message"]
    assert usages(world, "26ZA004431", "ZA") == []
    assert world.balance("26ZA004431", "ZA")["Lines"][0]["Remaining"] == 30

    exact = world.check("WDHA-I-B14", parrots(24), version=2)
    assert exact["Decision"] == "CLEARED"
    [item] = exact["Items"]
    assert (item["Status"], item["Quantity"], reasons(item)) == ("MATCHED", 24, [])
    assert usages(world, "26ZA004431", "ZA") == [("WDHA-I-B14", "24")]
    assert world.balance("26ZA004431", "ZA")["Status"] == "USED"


def test_a_foreign_permit_is_void_six_months_after_issue(world):
    # the clock stands at 2026-11-28: six months after 2026-05-28, and a day more after 05-27
    world.publish_epermit(issued("26ZA004432", "2026-05-27"), "26ZA004432", "ZA")
    world.publish_epermit(issued("26ZA004433", "2026-05-28"), "26ZA004433", "ZA")

    late = world.check("WDHA-I-VAL-1", parrots(24, "26ZA004432"))
    in_time = world.check("WDHA-I-VAL-2", parrots(24, "26ZA004433"))

    assert late["Decision"] == "HELD"
    [item] = late["Items"]
    assert reasons(item) == ["PERMIT_EXPIRED"]
    assert "2026-11-27" in item["Reasons"][0]["Message"]
    assert usages(world, "26ZA004432", "ZA") == []
    assert world.balance("26ZA004432", "ZA")["ValidUntil"].isoformat() == "2027-05-02"

    assert in_time["Decision"] == "CLEARED"
    assert usages(world, "26ZA004433", "ZA") == [("WDHA-I-VAL-2", "24")]
