"""Ledger invariants under random clear / amend / cancel sequences (hypothesis).

For every permit line: 0 <= remaining <= quantity, and quantity - remaining equals the sum of
the line's active usages; a SINGLE permit is marked used exactly while it has active usages.
The stateful test runs the same operations on the in-memory fake and on SQLite and asserts
both ledgers agree, which is what lets the fast unit tests trust the fake.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.domain.decision_dicts import decision_to_dict
from cites_connector.domain.errors import DeclarationCancelled
from cites_connector.domain.permits import ConsignmentPolicy
from tests.integration.kit import export, permit, python_item, pythons, services
from tests.memory_ledger import MemoryLedger

PERMITS = {
    "S1": permit("S1", pythons(10)),
    "S2": permit("S2", pythons(5), pythons(3, "B")),
    "M1": permit("M1", pythons(12), policy=ConsignmentPolicy.MULTIPLE),
    "M2": permit("M2", pythons(4), pythons(7, "B"), policy=ConsignmentPolicy.MULTIPLE),
}
#: cited from the start, received only when the state machine's ``arrive`` rule says so: the
#: declarations held for it are then released
LATE = permit("L1", pythons(9), policy=ConsignmentPolicy.MULTIPLE)

_template: Path | None = None


def fresh_sqlite_ledger(directory: Path) -> SqlAlchemyLedger:
    """Copy a migrated database file: migrating for every hypothesis example is too slow."""
    global _template
    if _template is None:
        _template = Path(tempfile.mkdtemp()) / "template.sqlite3"
        engine = make_engine(f"sqlite:///{_template}")
        upgrade(engine)
        engine.dispose()
    target = directory / "ledger.sqlite3"
    shutil.copy(_template, target)
    return SqlAlchemyLedger(make_engine(f"sqlite:///{target}"))


def assert_invariants(ledger) -> None:
    with ledger.snapshot() as s:
        for number in [*PERMITS, LATE.permit_number]:
            p = s.permits.get(number, "NA")
            if p is None:
                continue
            active = s.usages.find(permit=p.key)
            for line in p.lines:
                taken = sum((u.quantity for u in active if u.line == line.line), Decimal(0))
                assert Decimal(0) <= line.remaining <= line.quantity
                assert line.quantity - line.remaining == taken
            if p.consignment_policy is ConsignmentPolicy.SINGLE:
                assert (p.used_by is not None) == bool(active)
                assert {u.declaration_id for u in active} <= {p.used_by}


def balances(ledger) -> dict:
    with ledger.snapshot() as s:
        found = {n: s.permits.get(n, "NA") for n in [*PERMITS, LATE.permit_number]}
    return {n: (p.used_by, [ln.remaining for ln in p.lines]) for n, p in found.items() if p}


def states(ledger, declaration_ids) -> dict:
    with ledger.snapshot() as s:
        found = {d: s.declarations.latest(d) for d in declaration_ids}
    return {d: (f.decision.version, f.state.value) for d, f in found.items() if f}


items = st.lists(
    st.tuples(st.sampled_from(sorted(PERMITS) + [LATE.permit_number]), st.integers(0, 13)),
    min_size=1,
    max_size=3,
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("clear"), st.integers(0, 4), items),
        st.tuples(st.just("cancel"), st.integers(0, 4), st.none()),
    ),
    min_size=1,
    max_size=25,
)


def apply(clearance, versions: dict, op) -> None:
    kind, n, lines = op
    declaration_id = f"D{n}"
    if kind == "cancel":
        if declaration_id in versions:
            clearance.cancel(declaration_id)
        return
    versions[declaration_id] = versions.get(declaration_id, 0) + 1
    declaration = export(
        *(python_item(i, qty, number) for i, (number, qty) in enumerate(lines, start=1))
    )
    clearance.clear(declaration_id, versions[declaration_id], declaration)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_random_clear_amend_cancel_keeps_the_sql_ledger_consistent(ops, tmp_path_factory):
    ledger = fresh_sqlite_ledger(tmp_path_factory.mktemp("prop"))
    clearance, permits = services(ledger)
    for p in PERMITS.values():
        permits.apply(p)
    versions: dict[str, int] = {}
    for op in ops:
        apply(clearance, versions, op)
        assert_invariants(ledger)
    ledger.engine.dispose()


class FakeAndSqlLedgersAgree(RuleBasedStateMachine):
    """The in-memory fake and the SQL ledger give the same decisions and balances."""

    @initialize()
    def start(self):
        self.directory = Path(tempfile.mkdtemp())
        self.ledgers = [MemoryLedger(), fresh_sqlite_ledger(self.directory)]
        self.services = [services(ledger) for ledger in self.ledgers]
        for _, permits in self.services:
            for p in PERMITS.values():
                permits.apply(p)
        self.versions = [{}, {}]

    @rule(n=st.integers(0, 4), lines=items)
    def clear(self, n, lines):
        results = []
        for (clearance, _), versions in zip(self.services, self.versions, strict=True):
            apply(clearance, versions, ("clear", n, lines))
            results.append(decision_to_dict(clearance.stored(f"D{n}").decision))
        assert results[0] == results[1]

    @rule(n=st.integers(0, 4))
    def cancel(self, n):
        restored = []
        for (clearance, _), versions in zip(self.services, self.versions, strict=True):
            if f"D{n}" in versions:
                restored.append(
                    [(r.usage.usage_id, r.remaining_after) for r in clearance.cancel(f"D{n}")]
                )
        assert not restored or restored[0] == restored[1]

    @rule(n=st.integers(0, 4))
    def send_again(self, n):
        """The same (id, version) again: the stored decision, or refused once cancelled."""
        answers = []
        for (clearance, _), versions in zip(self.services, self.versions, strict=True):
            if f"D{n}" not in versions:
                return
            try:
                outcome = clearance.clear(
                    f"D{n}", versions[f"D{n}"], export(python_item(1, 1, "S1"))
                )
                answers.append(("repeated", outcome.repeated, decision_to_dict(outcome.decision)))
            except DeclarationCancelled:
                answers.append(("cancelled",))
        assert answers[0] == answers[1] and answers[0][:2] != ("repeated", False)

    @rule()
    def arrive(self):
        """The late permit arrives (again: a repeat changes nothing) and releases."""
        released = [
            [d.declaration_id for d in permits.receive_permit(LATE).released]
            for _, permits in self.services
        ]
        assert released[0] == released[1]

    @invariant()
    def same_balances(self):
        if hasattr(self, "ledgers"):
            assert balances(self.ledgers[0]) == balances(self.ledgers[1])
            ids = [f"D{n}" for n in range(5)]
            assert states(self.ledgers[0], ids) == states(self.ledgers[1], ids)
            for ledger in self.ledgers:
                assert_invariants(ledger)

    def teardown(self):
        if hasattr(self, "ledgers"):
            self.ledgers[1].engine.dispose()
            shutil.rmtree(self.directory, ignore_errors=True)


FakeAndSqlLedgersAgree.TestCase.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None
)
test_fake_and_sql_ledgers_agree = FakeAndSqlLedgersAgree.TestCase
