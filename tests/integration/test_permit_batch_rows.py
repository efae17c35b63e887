"""A batch of permit events with its look-ups done once and its new permits written together
(services/permit_batch.py, adapters/sql/permit_batch.py, issue 14): the ledger ends as event by
event, on every backend."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cites_connector.domain.decisions import DeclarationDecision
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from cites_connector.domain.usages import DeclarationState
from cites_connector.services.permits import IncomingEvent
from tests.integration.kit import export, permit, python_item, pythons, remaining, services

ACTOR = "permit-system"


def status(number: str, version: int, new_status: PermitStatus) -> PermitStatusChange:
    return PermitStatusChange(number, "NA", version, new_status)


def audit_subjects(ledger) -> list[tuple[str, str]]:
    if hasattr(ledger, "state"):
        return [(a[1], a[2]) for a in ledger.state.audit]
    from sqlalchemy import select

    from cites_connector.adapters.sql.tables import audit_log as table

    with ledger.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table.c.action, table.c.subject))]


def test_a_mixed_batch_ends_as_its_events_applied_one_by_one(ledger_backend):
    ledger = ledger_backend
    clearance, permits = services(ledger)
    held = clearance.clear("D1", 1, export(python_item(1, 10, "P-NEW")))
    assert held.decision.decision is DeclarationDecision.HELD
    permits.receive_permit(permit("P-OLD", pythons(40)), message_id="m-old")
    permits.receive_status(status("P-EARLY", 1, PermitStatus.CANCELLED), message_id="m-early")
    permits.receive_permit(permit("P-DUP", pythons(40)), message_id="m-dup", body_digest="d")

    batch = [
        IncomingEvent(permit("P-NEW", pythons(40)), ACTOR, "b-1"),  # new, releases D1
        IncomingEvent(permit("P-OLD", pythons(50), version=2), ACTOR, "b-2"),  # amended
        IncomingEvent(permit("P-EARLY", pythons(40)), ACTOR, "b-3"),  # its cancellation kept
        IncomingEvent(permit("P-DUP", pythons(40)), ACTOR, "m-dup", "d"),  # a repeat
        IncomingEvent(permit("P-A", pythons(40)), ACTOR, "b-5"),  # new, then suspended
        IncomingEvent(status("P-A", 2, PermitStatus.SUSPENDED), ACTOR, "b-6"),
        IncomingEvent(permit("P-B", pythons(40), pythons(7, "B")), ACTOR, "b-7"),  # new
        IncomingEvent(permit("P-C", pythons(40)), ACTOR, None),  # new, no message id
    ]
    outcomes = permits.receive_batch(batch)

    assert [o.applied.applied for o in outcomes] == [
        True,
        True,
        True,
        False,
        True,
        True,
        True,
        True,
    ]
    assert [o.duplicate for o in outcomes] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        False,
    ]
    assert [d.declaration_id for d in outcomes[0].released] == ["D1"]
    assert clearance.stored("D1").state is DeclarationState.CLEARED
    assert remaining(ledger, "P-NEW") == Decimal(30)
    assert remaining(ledger, "P-OLD") == Decimal(50)
    assert permits.balance("P-EARLY", "NA").permit.status is PermitStatus.CANCELLED
    assert permits.balance("P-A", "NA").permit.status is PermitStatus.SUSPENDED
    bulk = permits.balance("P-B", "NA").permit
    assert (bulk.version, bulk.status, bulk.used_by) == (1, PermitStatus.VALID, None)
    assert [(ln.line, ln.quantity, ln.remaining) for ln in bulk.lines] == [
        ("A", Decimal(40), Decimal(40)),
        ("B", Decimal(7), Decimal(7)),
    ]
    assert remaining(ledger, "P-C") == Decimal(40)
    subjects = audit_subjects(ledger)
    for number in ("P-NEW", "P-B", "P-C"):
        assert subjects.count(("permit.issued", f"{number}/NA")) == 1
    assert ("permit.amended", "P-OLD/NA") in subjects

    # a new permit written with the batch is drawn on like any other
    cleared = clearance.clear("D2", 1, export(python_item(1, 5, "P-B")))
    assert cleared.decision.cleared
    assert remaining(ledger, "P-B") == Decimal(35)

    # the batch delivered again changes nothing
    before = audit_subjects(ledger)
    again = permits.receive_batch([e for e in batch if e.message_id is not None])
    assert all(o.duplicate for o in again)
    assert remaining(ledger, "P-B") == Decimal(35)
    assert audit_subjects(ledger) == before


def test_a_batch_keeps_the_audit_chain_intact(sql_ledger):
    from cites_connector.adapters.sql.audit_checks import verify_chains

    _clearance, permits = services(sql_ledger)
    permits.receive_batch(
        [IncomingEvent(permit(f"P-{i}", pythons(40)), ACTOR, f"m-{i}") for i in range(30)]
    )
    report = verify_chains(sql_ledger.engine)
    assert report.ok, report


def _stored_text(ledger, number: str) -> dict[str, list[tuple]]:
    """The rows a permit left, as the database keeps them (JSON and instants as text), without
    what differs between two permits of the same content (ids, number, nonce, MAC)."""
    from sqlalchemy import text

    postgres = ledger.engine.dialect.name == "postgresql"
    as_text = "CAST({} AS TEXT)" if postgres else "{}"
    exporter, importer = as_text.format("exporter"), as_text.format("importer")
    at, received = as_text.format("at"), as_text.format("received_at")
    queries = {
        "permits": f"SELECT {exporter}, {importer}, issued_on, valid_from, valid_until, version,"
        " content_version, type, status, consignment_policy, purpose, security_stamp,"
        " replaces, unsigned, balance_stamp FROM permits WHERE permit_number = :n",
        "lines": "SELECT l.line, l.taxon, l.quantity_micro, l.remaining_micro, l.unit, l.source,"
        " l.term, l.origin_country, l.description, l.exported_quantity_micro, l.stamp"
        " FROM permit_lines l JOIN permits p ON p.id = l.permit_id"
        " WHERE p.permit_number = :n ORDER BY l.line",
        "audit": f"SELECT {at}, actor, action, {as_text.format('details')} FROM audit_log"
        " WHERE subject = :n || '/NA' AND mac IS NOT NULL AND nonce IS NOT NULL",
        "inbox": f"SELECT source, outcome, {received}, body_digest FROM inbox"
        " WHERE message_id = 'm-' || :n",
    }
    with ledger.engine.connect() as conn:
        return {
            k: [tuple(r) for r in conn.execute(text(q), {"n": number})] for k, q in queries.items()
        }


def test_a_batch_stores_awkward_values_as_one_by_one(sql_ledger):
    """Quotes, backslashes, non-ASCII text, the largest quantity, empty parties and fields:
    what a batch writes (PostgreSQL: one JSON array per table) is what the event alone writes."""
    from dataclasses import replace

    from cites_connector.domain.permits import Party

    _clearance, permits = services(sql_ledger)
    line = replace(
        pythons("9223372036854.775807"),
        description='a "quoted" \\ back\\slash\nnewline, Ñandú 🐍, tab\there',
        origin_country="XX",
        unit="KIL",
    )
    second = replace(pythons("0.000001", "B"), source=None, term=None, appendix=None)

    def awkward(number: str):
        return replace(
            permit(number, line, second),
            exporter=Party(name='O\'Brien "&" Söhne \\ 🐊', country="NA", id="x\\y"),
            importer=Party(),
            security_stamp="0012345",
        )

    permits.receive_permit(awkward("P-ONE"), actor=ACTOR, message_id="m-P-ONE", body_digest="d")
    permits.receive_batch(
        [
            IncomingEvent(awkward("P-TWO"), ACTOR, "m-P-TWO", "d"),
            IncomingEvent(permit("P-OTHER", pythons(1)), ACTOR, "m-P-OTHER"),
        ]
    )
    one, batched = _stored_text(sql_ledger, "P-ONE"), _stored_text(sql_ledger, "P-TWO")
    assert all(one.values())
    # the test clock ticks a second per reading: the instants' form is compared, not their second
    tick = re.compile(r"09:00:\d\d")
    assert {
        k: [tuple(tick.sub("09:00:ss", str(v)) for v in r) for r in rows]
        for k, rows in batched.items()
    } == {
        k: [tuple(tick.sub("09:00:ss", str(v)) for v in r) for r in rows] for k, rows in one.items()
    }


# PostgreSQL only: SQLite takes no advisory locks (its one write lock serialises batches)
@pytest.mark.parametrize("sql_ledger", ["postgres"], indirect=True)
def test_the_batch_holds_its_permits_locks_while_it_reads_them(sql_ledger):
    """The locks and the look-up are sent together on PostgreSQL (one round trip): the locks
    are still taken, in the fixed order, and held until the transaction ends."""
    from sqlalchemy import text

    from cites_connector.adapters.sql import locks
    from cites_connector.adapters.sql.permit_batch import permit_batch_rows

    _clearance, permits = services(sql_ledger)
    permits.receive_permit(permit("P-KNOWN", pythons(4)), message_id="m-known", body_digest="d")
    held = text("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = :space")
    numbers = ["P-KNOWN", "P-OTHER"]
    with sql_ledger.transaction() as uow:
        rows = permit_batch_rows(uow)
        known = rows.locked_known(numbers, ["m-known", "m-new"])
        with sql_ledger.engine.connect() as other:
            taken = sorted(r[0] for r in other.execute(held, {"space": locks.PERMITS}))
    assert known.stored == {("P-KNOWN", "NA")}
    assert set(known.seen) == {"m-known"}
    assert taken == sorted(locks.lock_key(n) & 0xFFFFFFFF for n in numbers)
    with sql_ledger.engine.connect() as other:
        assert not list(other.execute(held, {"space": locks.PERMITS}))


def test_a_batch_of_new_permits_only_releases_what_they_hold(ledger_backend):
    """With nothing but new permits, the held declarations citing them are read with the
    writes (PostgreSQL: in the same round trip); they clear as before."""
    clearance, permits = services(ledger_backend)
    held = clearance.clear("D1", 1, export(python_item(1, 10, "P-NEW")))
    assert held.decision.decision is DeclarationDecision.HELD
    outcomes = permits.receive_batch(
        [
            IncomingEvent(permit("P-NEW", pythons(40)), ACTOR, "n-1"),
            IncomingEvent(permit("P-ALSO", pythons(40)), ACTOR, "n-2"),
        ]
    )
    assert [d.declaration_id for d in outcomes[0].released] == ["D1"]
    assert outcomes[1].released == ()
    assert clearance.stored("D1").state is DeclarationState.CLEARED
    assert remaining(ledger_backend, "P-NEW") == Decimal(30)
    assert remaining(ledger_backend, "P-ALSO") == Decimal(40)
