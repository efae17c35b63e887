"""Contract 3.3 (v2) for one declaration's unknown permits, on a hand-written fake of the
lookup port and a clock the test moves: the cap, one call for all, the remembered "not
found", and what is stored."""

from __future__ import annotations

from cites_connector.domain.errors import InvalidPermit
from cites_connector.services.permit_lookup import (
    MAX_REMEMBERED,
    LookupAnswer,
    UnknownPermitLookup,
)
from tests.integration.kit import permit


class FakePort:
    """Knows ``known``; answers "not found" for the rest unless ``silent``."""

    def __init__(self, *known, silent=()):
        self.known = {p.permit_number: p for p in known}
        self.silent = set(silent)
        self.calls: list[tuple[list, float]] = []

    def ask(self, queries, timeout):
        self.calls.append((list(queries), timeout))
        return {
            n: LookupAnswer(self.known.get(n), "permit-system")
            for n, _ in queries
            if n not in self.silent
        }


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def lookup(port, **options):
    clock = Clock()
    return UnknownPermitLookup(port, clock=clock, **options), clock


def test_all_unknown_permits_are_asked_in_one_call_with_one_timeout():
    port = FakePort(permit("P2"))
    policy, _ = lookup(port, timeout=2.5)
    stored = []
    policy.fetch(["P1", "P2", "P3", "P2"], "NA", lambda p, who: stored.append((p, who)))
    assert port.calls == [([("P1", "NA"), ("P2", "NA"), ("P3", "NA")], 2.5)]
    assert [(p.permit_number, who) for p, who in stored] == [("P2", "permit-system")]


def test_at_most_the_cap_are_asked_in_citation_order():
    port = FakePort()
    policy, _ = lookup(port, max_per_declaration=10)
    policy.fetch([f"P{i:02d}" for i in range(20)], "NA", lambda *_: None)
    assert [n for n, _ in port.calls[0][0]] == [f"P{i:02d}" for i in range(10)]
    policy, _ = lookup(FakePort(), max_per_declaration=0)
    assert policy.fetch(["P1"], "NA", lambda *_: None) == [] and not policy.port.calls


def test_not_found_is_remembered_per_number_and_issuer_until_the_ttl_ends():
    port = FakePort(silent={"P3"})
    policy, clock = lookup(port, negative_ttl=60)
    policy.fetch(["P1", "P3"], "NA", lambda *_: None)
    policy.fetch(["P1", "P3"], "NA", lambda *_: None)  # P1 remembered, P3 unanswered
    policy.fetch(["P1"], "ZA", lambda *_: None)  # another expected issuer: asked
    clock.now += 59.9
    policy.fetch(["P1"], "NA", lambda *_: None)
    clock.now += 0.2
    policy.fetch(["P1"], "NA", lambda *_: None)
    assert [c[0] for c in port.calls] == [
        [("P1", "NA"), ("P3", "NA")],
        [("P3", "NA")],
        [("P1", "ZA")],
        [("P1", "NA")],
    ]


def test_remembered_numbers_do_not_count_against_the_cap():
    port = FakePort()
    policy, _ = lookup(port, max_per_declaration=2)
    policy.fetch(["P1", "P2"], "NA", lambda *_: None)
    policy.fetch(["P1", "P2", "P3", "P4", "P5"], "NA", lambda *_: None)
    assert port.calls[1][0] == [("P3", "NA"), ("P4", "NA")]


def test_the_memory_is_bounded():
    policy, clock = lookup(FakePort(), negative_ttl=60, max_per_declaration=100)
    for start in range(0, MAX_REMEMBERED + 50, 100):
        policy.fetch([f"P{i}" for i in range(start, start + 100)], "NA", lambda *_: None)
        clock.now += 0.001
    assert len(policy._not_found) <= MAX_REMEMBERED


def test_a_permit_that_cannot_be_stored_stays_unknown_and_the_others_are_stored():
    port = FakePort(permit("P1"), permit("P2"))
    policy, _ = lookup(port)
    stored = []

    def store(found, who):
        if found.permit_number == "P1":
            raise InvalidPermit("PERMIT_CANCELLED_FINAL: cancelled before")
        stored.append(found.permit_number)

    assert [p.permit_number for p in policy.fetch(["P1", "P2"], "NA", store)] == ["P2"]
    assert stored == ["P2"]
