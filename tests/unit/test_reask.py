"""The re-ask of held declarations' foreign permits (services/reask.py), on the in-memory
ledger with a fake lookup port and a clock the test moves: the back-off grows per
declaration, an unreachable source is never remembered as "not found", a found permit
releases the declaration through the release path, and a declaration no longer held is not
asked again."""

from __future__ import annotations

import itertools

from cites_connector.app import build_services
from cites_connector.services.permit_lookup import LookupAnswer, UnknownPermitLookup
from cites_connector.services.reask import ForeignPermitWaits, PermitReask
from tests.integration.kit import Clock, export, ids, outbox, permit, python_item, rulebook
from tests.memory_ledger import MemoryLedger

NUMBER = "26NA000777"


class Port:
    """A permit source that is out of reach (no answer) until ``up``; then it knows
    ``known`` and says "not found" for the rest."""

    def __init__(self):
        self.up = False
        self.known: dict = {}
        self.asked: list[tuple[float, list]] = []
        self.clock = None

    def ask(self, queries, timeout):
        self.asked.append((self.clock.now if self.clock else 0.0, [n for n, _ in queries]))
        if not self.up:
            return {}
        return {n: LookupAnswer(self.known.get(n), "epix") for n, _ in queries}


class Ticks:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def doubling(n: int) -> float:
    return min(240.0, 30.0 * 2 ** (n - 1))


def world(negative_ttl: float = 60.0):
    ledger = MemoryLedger()
    port, ticks = Port(), Ticks()
    port.clock = ticks
    lookup = UnknownPermitLookup(port, negative_ttl=negative_ttl, clock=ticks)
    rules = rulebook()
    built = build_services(ledger, rules, clock=Clock(), new_id=ids(), lookup=lookup)
    waits = ForeignPermitWaits(ledger, rules, lambda issuer: True)
    reask = PermitReask(waits, lookup, built.clearance.store_found, delay=doubling, clock=ticks)
    return ledger, built.clearance, port, ticks, reask


def held_while_down(clearance, declaration_id: str = "D-1", count: int = 10):
    decision = clearance.clear(declaration_id, 1, export(python_item(1, count, NUMBER))).decision
    assert decision.decision.value == "HELD"
    assert "PERMIT_UNKNOWN" in {r.code.value for i in decision.items for r in i.reasons}
    return decision


def run_until(reask, ticks, until: float, step: float = 5.0) -> None:
    while ticks.now < until:
        ticks.now += step
        reask.run_once()


def test_the_back_off_grows_per_declaration_and_stops_at_its_maximum():
    _ledger, clearance, port, ticks, reask = world()
    held_while_down(clearance)
    assert len(port.asked) == 1  # the clearance's own lookup
    reask.run_once()  # first seen: asked after the first delay
    run_until(reask, ticks, 1000)
    times = [t for t, _ in port.asked[1:]]
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert round(times[0]) == 30
    assert gaps[:4] == [60, 120, 240, 240]
    assert all(g == 240 for g in gaps[3:])
    assert [n for _, n in port.asked[1:]] == [[NUMBER]] * len(times)


def test_the_permit_found_when_the_source_answers_again_releases_the_declaration_once():
    ledger, clearance, port, ticks, reask = world()
    held_while_down(clearance)
    run_until(reask, ticks, 100)  # asked at 30 and 90: no answer, never remembered
    port.up, port.known = True, {NUMBER: permit(NUMBER)}
    run_until(reask, ticks, 300)
    stored = clearance.stored("D-1")
    assert stored.decision.decision.value == "CLEARED"
    with ledger.snapshot() as uow:
        assert uow.permits.get(NUMBER, "NA").line("A").remaining == 30
        assert len(uow.usages.find(declaration_id="D-1")) == 1
    keys = [m.routing_key for m in outbox(ledger) if m.channel == "amqp"]
    assert keys.count("usage.recorded") == 1
    callbacks = [m for m in outbox(ledger) if m.channel == "customs-callback"]
    assert len(callbacks) == 1
    asked_after = len(port.asked)
    run_until(reask, ticks, 5000)
    assert len(port.asked) == asked_after  # released: not asked again
    assert reask.waits.waiting() == []


def test_a_not_found_answer_is_remembered_for_its_ttl_only_and_asking_goes_on():
    _ledger, clearance, port, ticks, reask = world(negative_ttl=1000)
    port.up = True  # the source answers "not found"
    held_while_down(clearance)
    run_until(reask, ticks, 400)
    assert len(port.asked) == 1  # "not found" remembered: the re-asks did not call
    port.known = {NUMBER: permit(NUMBER)}
    run_until(reask, ticks, 2000)
    assert clearance.stored("D-1").decision.decision.value == "CLEARED"


def test_a_declaration_cancelled_or_amended_off_the_permit_is_not_asked_again():
    _ledger, clearance, port, ticks, reask = world()
    held_while_down(clearance, "D-1")
    held_while_down(clearance, "D-2")
    run_until(reask, ticks, 40)
    assert [n for _, n in port.asked[2:]] == [[NUMBER]]  # one question for both
    clearance.cancel("D-1")
    clearance.clear("D-2", 2, export(python_item(1, 10, "26NA000123")))  # another permit now
    assert clearance.stored("D-2").decision.version == 2
    asked = len(port.asked)
    run_until(reask, ticks, 3000)
    # D-2 version 2 waits for its own permit now; nobody waits for the first one
    assert [n for _, n in port.asked[asked:] if NUMBER in n] == []
    assert reask.next_at("D-1", 1) is None and reask.next_at("D-2", 1) is None


def test_home_permits_routed_elsewhere_are_not_waiting_for_the_foreign_source():
    ledger, clearance, _port, _ticks, _ = world()
    held_while_down(clearance)
    waits = ForeignPermitWaits(ledger, rulebook(), lambda issuer: issuer != "NA")
    assert waits.waiting() == []
