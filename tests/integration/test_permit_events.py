"""Permit events and what they set in motion: releases, reports, idempotency, ordering."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cites_connector.domain.decision_policy import DecisionPolicy
from cites_connector.domain.decisions import DeclarationDecision, ReasonCode
from cites_connector.domain.errors import PermitEventRefused
from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitStatusChange
from cites_connector.domain.usages import DeclarationState
from cites_connector.hs_codes.bundled import load_bundled_tables
from cites_connector.hs_codes.taxonomy_data import load_bundled_taxonomy
from cites_connector.services.clearance import ClearanceService
from cites_connector.services.decider_factory import Rulebook
from cites_connector.services.permit_lookup import LookupAnswer, UnknownPermitLookup
from cites_connector.services.permits import PermitService
from tests.integration.kit import (
    TODAY,
    Clock,
    export,
    ids,
    outbox,
    permit,
    python_item,
    pythons,
    remaining,
    services,
)

MULTIPLE = ConsignmentPolicy.MULTIPLE


@pytest.fixture
def world(ledger_backend):
    clearance, permits = services(ledger_backend)
    return ledger_backend, clearance, permits


def bodies(ledger, channel_or_key: str) -> list[dict]:
    found = []
    for m in outbox(ledger):
        m = m if isinstance(m, dict) else m.__dict__
        if channel_or_key in (m["channel"], m["routing_key"]):
            found.append(m["body"])
    return found


def status(number, version, new_status, reason=None):
    return PermitStatusChange(number, "NA", version, new_status, reason)


def test_a_declaration_held_for_a_missing_permit_clears_when_the_permit_arrives(world):
    ledger, clearance, permits = world
    held = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    assert held.decision.decision is DeclarationDecision.HELD
    outcome = permits.receive_permit(permit("P1", pythons(40), policy=MULTIPLE), message_id="m-1")
    assert [d.declaration_id for d in outcome.released] == ["D1"]
    assert clearance.stored("D1").state is DeclarationState.CLEARED
    assert clearance.stored("D1").decision.items[0].remaining_after == 30
    assert remaining(ledger, "P1") == 30
    [usage] = bodies(ledger, "usage.recorded")
    assert usage["declaration_id"] == "D1" and usage["quantity"] == "10"
    events = [b["event"] for b in bodies(ledger, "broker.BRK-0917")]
    assert events == ["decided", "released"]
    [callback] = bodies(ledger, "customs-callback")
    assert callback["decision"] == "CLEARED" and callback["declaration_id"] == "D1"
    # customs asking again with the same version gets the released decision, nothing new
    again = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    assert again.repeated and again.decision.cleared and remaining(ledger, "P1") == 30


def test_a_permit_arriving_days_later_still_releases_the_declaration(world):
    """The declaration date rule counts from the day of the first check: a declaration that
    waited ten days for its permit is not held for a date that was plausible then."""
    _ledger, clearance, permits = world
    assert not clearance.clear("D1", 1, export(python_item(1, 10, "P1"))).decision.cleared
    permits.clock.now += timedelta(days=10)
    outcome = permits.receive_permit(permit("P1", pythons(40), policy=MULTIPLE))
    assert [d.reasons for d in outcome.released] == [()]
    assert clearance.stored("D1").state is DeclarationState.CLEARED


def test_an_amended_permit_releases_a_declaration_held_for_quantity(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(5), policy=MULTIPLE))
    assert not clearance.clear("D1", 1, export(python_item(1, 10, "P1"))).decision.cleared
    permits.receive_permit(permit("P1", pythons(50), version=2, policy=MULTIPLE))
    assert clearance.stored("D1").decision.cleared
    assert remaining(ledger, "P1") == 40


def test_a_permit_that_still_does_not_fit_leaves_the_declaration_held(world):
    ledger, clearance, permits = world
    clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    outcome = permits.receive_permit(permit("P1", pythons(4), policy=MULTIPLE))
    assert outcome.released == ()
    assert clearance.stored("D1").state is DeclarationState.HELD
    assert bodies(ledger, "customs-callback") == [] and remaining(ledger, "P1") == 4


def test_a_redelivered_message_changes_nothing(world):
    ledger, _clearance, permits = world
    first = permits.receive_permit(permit("P1", pythons(40)), message_id="m-1")
    again = permits.receive_permit(permit("P1", pythons(99), version=2), message_id="m-1")
    assert first.applied.applied and again.duplicate
    assert remaining(ledger, "P1") == 40


def test_out_of_order_versions_end_in_the_state_of_the_highest(world):
    ledger, _, permits = world
    permits.receive_permit(permit("P1", pythons(50), version=2))
    assert not permits.receive_permit(permit("P1", pythons(40), version=1)).applied.applied
    assert remaining(ledger, "P1") == 50


def test_a_cancellation_that_overtakes_its_permit_is_applied_when_the_permit_arrives(world):
    ledger, clearance, permits = world
    early = permits.receive_status(status("P1", 2, PermitStatus.CANCELLED, "lost"))
    assert not early.applied.applied
    permits.receive_permit(permit("P1", pythons(40), version=1))
    with ledger.snapshot() as s:
        stored = s.permits.get("P1", "NA")
    assert (stored.status, stored.version) == (PermitStatus.CANCELLED, 2)
    held = clearance.clear("D1", 1, export(python_item(1, 1, "P1")))
    assert [r.code for r in held.decision.items[0].reasons] == [ReasonCode.PERMIT_CANCELLED]


def test_cancelling_a_permit_after_clearance_keeps_the_clearance_and_tells_customs(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40)))
    clearance.clear("D1", 1, export(python_item(1, 40, "P1")))
    outcome = permits.receive_status(status("P1", 2, PermitStatus.CANCELLED, "fraud suspected"))
    assert outcome.reported == ("D1",)
    assert clearance.stored("D1").state is DeclarationState.CLEARED
    assert remaining(ledger, "P1") == 0
    [callback] = bodies(ledger, "customs-callback")
    assert callback["decision"] == "CLEARED"
    assert [r["code"] for r in callback["reasons"]] == ["PERMIT_CANCELLED"]
    assert "fraud suspected" in callback["reasons"][0]["message"]


def test_a_reinstated_permit_releases_declarations_held_while_it_was_suspended(world):
    ledger, clearance, permits = world
    permits.apply(permit("P1", pythons(40), policy=MULTIPLE))
    permits.receive_status(status("P1", 2, PermitStatus.SUSPENDED))
    held = clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    assert [r.code for r in held.decision.items[0].reasons] == [ReasonCode.PERMIT_SUSPENDED]
    outcome = permits.receive_status(status("P1", 3, PermitStatus.VALID))
    assert [d.declaration_id for d in outcome.released] == ["D1"]
    assert remaining(ledger, "P1") == Decimal(30)


def test_a_cancelled_held_declaration_is_not_released(world):
    ledger, clearance, permits = world
    clearance.clear("D1", 1, export(python_item(1, 10, "P1")))
    clearance.cancel("D1")
    assert permits.receive_permit(permit("P1", pythons(40))).released == ()
    assert remaining(ledger, "P1") == 40


class PermitSystem:
    """A hand-written fake of the lookup port (contract 3.3): knows some permits, answers
    "not found" for the others, as the user ``permit-system``."""

    def __init__(self, *permits):
        self.permits = {p.permit_number: p for p in permits}
        self.asked: list[tuple[str, str | None]] = []

    def ask(self, queries, timeout):
        self.asked.extend(queries)
        return {
            number: LookupAnswer(self.permits.get(number), "permit-system") for number, _ in queries
        }


def test_a_cited_permit_the_connector_lacks_is_looked_up_and_stored(ledger_backend):
    clearance, permits = services(ledger_backend)
    system = PermitSystem(permit("P9", pythons(40)))
    clearance.lookup, clearance.store_found = UnknownPermitLookup(system), permits.apply
    outcome = clearance.clear("D1", 1, export(python_item(1, 10, "P9"), python_item(2, 1, "NOPE")))
    assert sorted(system.asked) == [("NOPE", "NA"), ("P9", "NA")]
    items = outcome.decision.items
    assert items[0].permit_number == "P9" and not items[0].reasons
    assert [r.code for r in items[1].reasons] == [ReasonCode.PERMIT_UNKNOWN]
    assert remaining(ledger_backend, "P9") == 40  # held: nothing written off


def test_amendments_overtaken_by_a_cancellation_still_bring_their_lines(world):
    ledger, _, permits = world
    permits.receive_permit(permit("P1", pythons(10), version=4))
    permits.receive_status(status("P1", 9, PermitStatus.CANCELLED, "replaced"))
    assert permits.receive_permit(permit("P1", pythons(60), version=6)).applied.applied
    assert not permits.receive_permit(permit("P1", pythons(50), version=5)).applied.applied
    with ledger.snapshot() as s:
        stored = s.permits.get("P1", "NA")
    assert (stored.status, stored.version, stored.content_version) == (PermitStatus.CANCELLED, 9, 6)
    assert stored.line("A").quantity == 60
    with pytest.raises(PermitEventRefused) as refused:  # a cancellation is final (3.1 v2)
        permits.receive_permit(permit("P1", pythons(70), version=10))
    assert refused.value.code == "PERMIT_CANCELLED_FINAL"
    with ledger.snapshot() as s:
        assert s.permits.get("P1", "NA").status is PermitStatus.CANCELLED


class _NoTableOn:
    """The HS tables, but none in force on one day (as if withdrawn after the decision)."""

    def __init__(self, tables, day):
        self.tables, self.day = tables, day

    def in_force(self, on):
        return None if on == self.day else self.tables.in_force(on)


def test_a_held_declaration_that_cannot_be_decided_again_does_not_stop_the_others(ledger_backend):
    tables = load_bundled_tables()
    current = {"tables": tables}
    rules = Rulebook(
        tables=lambda: current["tables"],
        taxonomy=load_bundled_taxonomy(),
        policy=DecisionPolicy(home_country="NA"),
    )
    clock, new_id = Clock(), ids()
    clearance = ClearanceService(ledger_backend, rules, clock=clock, new_id=new_id)
    permits = PermitService(ledger_backend, rules, clock=clock, new_id=new_id)
    yesterday = TODAY - timedelta(days=1)
    clearance.clear("D-OLD", 1, export(python_item(1, 1, "P1"), on=yesterday))
    clearance.clear("D-NEW", 1, export(python_item(1, 1, "P1")))
    current["tables"] = _NoTableOn(tables, yesterday)

    outcome = permits.receive_permit(permit("P1", pythons(40), policy=MULTIPLE))

    assert [d.declaration_id for d in outcome.released] == ["D-NEW"]
    assert clearance.stored("D-OLD").state is DeclarationState.HELD
