"""The clearance service on every ledger backend: write-offs, idempotency, amendment, cancel."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from cites_connector.domain.decisions import DeclarationDecision, ItemStatus, ReasonCode
from cites_connector.domain.errors import StaleVersion, UnknownDeclaration
from cites_connector.domain.permits import BalanceStatus, ConsignmentPolicy
from cites_connector.domain.usages import DeclarationState
from tests.integration.kit import (
    TODAY,
    export,
    outbox,
    permit,
    plastic_item,
    python_item,
    pythons,
    remaining,
    routing_keys,
    services,
)

MULTIPLE = ConsignmentPolicy.MULTIPLE


@pytest.fixture
def world(ledger_backend):
    clearance, permits = services(ledger_backend)
    return ledger_backend, clearance, permits


def test_clearing_writes_off_records_usage_and_queues_reports(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40)))
    outcome = clearance.clear("D1", 1, export(python_item(1, 40, "P1"), plastic_item(2)))
    assert outcome.decision.decision is DeclarationDecision.CLEARED
    assert not outcome.repeated
    item = outcome.decision.items[0]
    assert (item.status, item.quantity, item.remaining_after) == (
        ItemStatus.MATCHED,
        Decimal(40),
        Decimal(0),
    )
    assert remaining(ledger, "P1") == 0
    with ledger.snapshot() as s:
        [usage] = s.usages.find(declaration_id="D1")
        assert s.permits.get("P1", "NA").balance_status(TODAY) is BalanceStatus.USED
    assert usage.quantity == 40 and usage.permit_used_up
    assert routing_keys(ledger) == ["usage.recorded", "broker.BRK-0917"]


def test_repeating_a_version_returns_the_stored_decision_and_writes_nothing(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    first = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    again = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    assert again.repeated and again.decision == first.decision
    assert remaining(ledger, "P1") == 30
    assert len(outbox(ledger)) == 2


def test_a_lower_version_is_refused_as_stale(world):
    _, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    clearance.clear("D1", 2, export(python_item(1, 10, "P1")))
    with pytest.raises(StaleVersion):
        clearance.clear("D1", 1, export(python_item(1, 10, "P1")))


def test_amendment_gives_back_the_earlier_write_offs_and_decides_again(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    clearance.clear("D1", 1, export(python_item(1, 30, "P1")))
    assert remaining(ledger, "P1") == 10
    amended = clearance.clear("D1", 2, export(python_item(1, 35, "P1")))
    assert amended.decision.decision is DeclarationDecision.CLEARED
    assert remaining(ledger, "P1") == 5
    with ledger.snapshot() as s:
        assert [u.declaration_version for u in s.usages.find(declaration_id="D1")] == [2]
        assert len(s.usages.find(declaration_id="D1", active_only=False)) == 2
    assert routing_keys(ledger).count("usage.reversed") == 1


def test_an_amendment_that_no_longer_fits_holds_and_keeps_nothing_written_off(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    clearance.clear("D1", 1, export(python_item(1, 30, "P1")))
    amended = clearance.clear("D1", 2, export(python_item(1, 41, "P1")))
    assert amended.decision.decision is DeclarationDecision.HELD
    assert remaining(ledger, "P1") == 40


def test_cancelling_restores_a_single_permit_and_a_repeat_restores_nothing(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40)))
    clearance.clear("D1", 1, export(python_item(1, 25, "P1")))
    restored = clearance.cancel("D1", "declaration withdrawn")
    assert [(r.usage.permit_number, r.usage.quantity, r.remaining_after) for r in restored] == [
        ("P1", Decimal(25), Decimal(40))
    ]
    with ledger.snapshot() as s:
        p = s.permits.get("P1", "NA")
        assert p.used_by is None and p.balance_status(TODAY) is BalanceStatus.VALID
    assert clearance.cancel("D1") == []
    assert clearance.stored("D1").state is DeclarationState.CANCELLED
    # the permit serves another consignment now
    assert clearance.clear("D2", 1, export(python_item(1, 40, "P1"))).decision.cleared


def test_cancelling_an_unknown_declaration_is_refused(world):
    _, clearance, _ = world
    with pytest.raises(UnknownDeclaration):
        clearance.cancel("NOPE")


def test_a_single_permit_is_used_up_by_its_first_clearance_whatever_the_quantity(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40)))
    first = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    assert first.decision.items[0].remaining_after == 30
    second = clearance.clear("D2", 1, export(python_item(1, 10, "P1")))
    assert second.decision.decision is DeclarationDecision.HELD
    assert [r.code for r in second.decision.items[0].reasons] == [ReasonCode.PERMIT_USED_UP]
    assert remaining(ledger, "P1") == 30


def test_a_multiple_permit_draws_down_across_declarations_until_exhausted(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    for n in range(4):
        assert clearance.clear(f"D{n}", 1, export(python_item(1, 10, "P1"))).decision.cleared
    last = clearance.clear("D9", 1, export(python_item(1, 1, "P1")))
    assert [r.code for r in last.decision.items[0].reasons] == [ReasonCode.PERMIT_USED_UP]
    assert remaining(ledger, "P1") == 0


def test_several_items_on_one_line_are_written_off_together(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    outcome = clearance.clear("D1", 1, export(python_item(1, 15, "P1"), python_item(2, 25, "P1")))
    assert outcome.decision.cleared
    assert [i.remaining_after for i in outcome.decision.items] == [Decimal(25), Decimal(0)]
    assert remaining(ledger, "P1") == 0


def test_one_failing_item_holds_the_declaration_and_writes_nothing_off(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    outcome = clearance.clear(
        "D1", 1, export(python_item(1, 10, "P1"), python_item(2, 5, "UNKNOWN-PERMIT"))
    )
    assert outcome.decision.decision is DeclarationDecision.HELD
    assert outcome.decision.write_offs == ()
    assert remaining(ledger, "P1") == 40
    assert routing_keys(ledger) == ["broker.BRK-0917"]
    with ledger.snapshot() as s:
        assert s.usages.find() == []
        # kept pending: a permit event for either cited number finds it
        assert [
            d.decision.declaration_id for d in s.declarations.held_citing("UNKNOWN-PERMIT")
        ] == ["D1"]
        assert [d.decision.declaration_id for d in s.declarations.held_citing("P1")] == ["D1"]


def test_check_decides_without_writing(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40)))
    decision = clearance.check("D1", 1, export(python_item(1, 40, "P1")))
    assert decision.cleared
    assert remaining(ledger, "P1") == 40 and outbox(ledger) == []
    with pytest.raises(UnknownDeclaration):
        clearance.stored("D1")


def test_a_permit_version_not_newer_than_the_stored_one_changes_nothing(world):
    ledger, _, permits = world
    assert permits.apply(permit("P1", pythons(40), version=2)).applied
    assert not permits.apply(permit("P1", pythons(99), version=2)).applied
    assert not permits.apply(permit("P1", pythons(99), version=1)).applied
    assert remaining(ledger, "P1") == 40


def test_an_amended_permit_keeps_what_was_written_off(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    clearance.clear("D1", 1, export(python_item(1, 15, "P1")))
    permits.apply(permit("P1", pythons(50), version=2, policy=MULTIPLE))
    assert remaining(ledger, "P1") == 35


def test_the_endorsement_is_stored_with_the_usage_and_read_back_alike(world):
    """Contract 3.2 (v2): who, where, when and what was declared, kept with the usage (on
    SQLite and PostgreSQL as in the fake), so that every message about it says the same."""
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    declared = replace(export(python_item(1, 12, "P1")), office_name="Windhoek Airport")
    clearance.clear("D1", 1, declared, actor="soap:amutenya", endorsed_by="amutenya")
    clearance.clear("D2", 1, export(python_item(1, 3, "P1")), actor="cli")
    with ledger.snapshot() as s:
        [first] = s.usages.find(declaration_id="D1")
        [second] = s.usages.find(declaration_id="D2")
    assert (first.endorsed_by, first.port, first.exit_date) == (
        "amutenya",
        "Windhoek Airport",
        TODAY,
    )
    assert (first.declared_quantity, first.declared_unit) == (Decimal(12), "NMB")
    # no endorser given: the audit actor; no office name: the office code
    assert (second.endorsed_by, second.port) == ("cli", "WDHA")
    bodies = [m.body if hasattr(m, "body") else m["body"] for m in outbox(ledger)]
    [body] = [b for b in bodies if b.get("usage_id") == first.usage_id]
    assert {k: body[k] for k in ("endorsed_by", "port", "exit_date", "declared_quantity")} == {
        "endorsed_by": "amutenya",
        "port": "Windhoek Airport",
        "exit_date": TODAY.isoformat(),
        "declared_quantity": "12",
    }


def _messages(ledger) -> list[tuple[str, object, object]]:
    """(routing key, permit number, quantity) of each outbox message, in the order written."""
    found = []
    for m in outbox(ledger):
        body = m.body if hasattr(m, "body") else m["body"]
        key = m.routing_key if hasattr(m, "routing_key") else m["routing_key"]
        found.append((key, body.get("permit_number"), body.get("quantity")))
    return found


def test_a_clearance_writes_its_messages_in_the_same_order_on_every_ledger(world):
    """Usage reports first, in the decision's order, then the broker's message: on PostgreSQL
    the rows go as one INSERT of several rows (prebuilt.py ``bound_rows``), whose ids must
    keep that order, the order they are delivered in."""
    from tests.memory_ledger import MemoryLedger

    def cleared(ledger, permits_and_clearance) -> list[tuple[str, object, object]]:
        clearance, permits = permits_and_clearance
        for number in ("P2", "P1", "P3"):
            permits.apply(permit(number, pythons(40), policy=MULTIPLE))
        items = [python_item(1, 2, "P2"), python_item(2, 3, "P1"), python_item(3, 4, "P3")]
        assert clearance.clear("D1", 1, export(*items)).decision.cleared
        return _messages(ledger)

    ledger, clearance, permits = world
    reference = MemoryLedger()
    expected = cleared(reference, services(reference))
    assert [(p, q) for _, p, q in expected[:3]] == [("P2", "2"), ("P1", "3"), ("P3", "4")]
    assert cleared(ledger, (clearance, permits)) == expected


def test_an_amendment_citing_another_permit_gives_the_first_back_and_draws_on_the_other(world):
    """On PostgreSQL the permits cited are locked before the stored decision is read (issue
    14); version 1's permit is not among them: the clearance is decided again with every
    permit locked after the read, in the one lock order."""
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    permits.apply(permit("P2", pythons(40), policy=MULTIPLE))
    clearance.clear("D1", 1, export(python_item(1, 30, "P1")))
    amended = clearance.clear("D1", 2, export(python_item(1, 25, "P2")))
    assert amended.decision.decision is DeclarationDecision.CLEARED
    assert (remaining(ledger, "P1"), remaining(ledger, "P2")) == (40, 15)
    with ledger.snapshot() as s:
        [usage] = s.usages.find(declaration_id="D1")
    assert (usage.permit_number, usage.declaration_version) == ("P2", 2)
