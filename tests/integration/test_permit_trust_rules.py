"""What no permit event may do (contract 3.1 (v2)), on every ledger: the fake, SQLite and
PostgreSQL. A cancellation is final, versions move in plausible steps, a message id is not
reused for another body; and, as properties, a cancelled permit never becomes usable again
whatever events follow, in any order, also when applied concurrently."""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cites_connector.adapters.sql.tables import audit_log
from cites_connector.domain.errors import PermitEventRefused
from cites_connector.domain.permits import PermitStatus, PermitStatusChange
from tests.integration.kit import permit, pythons, services

CANCELLED, SUSPENDED, VALID = PermitStatus.CANCELLED, PermitStatus.SUSPENDED, PermitStatus.VALID


def status(number, version, new_status):
    return PermitStatusChange(number, "NA", version, new_status, "test")


def stored(ledger, number):
    with ledger.snapshot() as session:
        return session.permits.get(number, "NA")


def refused(code, event):
    with pytest.raises(PermitEventRefused) as caught:
        event()
    assert caught.value.code == code
    return caught.value


@pytest.fixture
def world(ledger_backend):
    _, permits = services(ledger_backend)
    return ledger_backend, permits


def test_nothing_revives_a_cancelled_permit(world):
    ledger, permits = world
    permits.receive_permit(permit("P1"))
    permits.receive_status(status("P1", 2, CANCELLED))
    for event in (
        lambda: permits.receive_status(status("P1", 3, VALID)),
        lambda: permits.receive_status(status("P1", 2**31 - 1, VALID)),
        lambda: permits.receive_status(status("P1", 4, SUSPENDED)),
        lambda: permits.receive_permit(permit("P1", version=5)),
    ):
        message = refused("PERMIT_CANCELLED_FINAL", event).detail
        assert "cancelled at version 2" in message
    after = stored(ledger, "P1")
    assert (after.status, after.version) == (CANCELLED, 2)
    # older news changes nothing and is no refusal; a second cancellation is no revival
    assert not permits.receive_status(status("P1", 1, VALID)).applied.applied
    assert permits.receive_status(status("P1", 6, CANCELLED)).applied.applied
    assert stored(ledger, "P1").status is CANCELLED


def test_a_cancellation_kept_before_its_permit_is_final(world):
    ledger, permits = world
    permits.receive_status(status("P1", 3, CANCELLED))
    refused("PERMIT_CANCELLED_FINAL", lambda: permits.receive_status(status("P1", 4, VALID)))
    refused("PERMIT_CANCELLED_FINAL", lambda: permits.receive_permit(permit("P1", version=4)))
    assert stored(ledger, "P1") is None
    permits.receive_permit(permit("P1", version=1))  # the permit as issued, arriving late
    assert stored(ledger, "P1").status is CANCELLED


def test_reinstatement_lifts_a_suspension(world):
    ledger, permits = world
    permits.receive_permit(permit("P1"))
    permits.receive_status(status("P1", 2, SUSPENDED))
    permits.receive_status(status("P1", 3, VALID))
    assert stored(ledger, "P1").status is VALID


def test_a_version_step_over_the_limit_is_implausible(ledger_backend):
    _, permits = services(ledger_backend)
    permits.max_version_step = 10
    permits.receive_permit(permit("P1", version=5))
    refused("IMPLAUSIBLE_VERSION", lambda: permits.receive_permit(permit("P1", version=16)))
    refused("IMPLAUSIBLE_VERSION", lambda: permits.receive_status(status("P1", 16, SUSPENDED)))
    assert permits.receive_permit(permit("P1", version=15)).applied.applied
    assert stored(ledger_backend, "P1").version == 15


def test_a_message_id_reused_with_another_body_is_a_conflict(world):
    ledger, permits = world
    permits.receive_permit(permit("P1"), message_id="m1", body_digest="sha256:aa")
    repeat = permits.receive_permit(permit("P1"), message_id="m1", body_digest="sha256:aa")
    assert repeat.duplicate
    refused(
        "MESSAGE_ID_CONFLICT",
        lambda: permits.receive_permit(permit("P2"), message_id="m1", body_digest="sha256:bb"),
    )
    assert stored(ledger, "P2") is None
    # callers without a body (CLI import, rows from before digests): a repeat as before
    assert permits.receive_permit(permit("P2"), message_id="m1").duplicate


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["issued", "amended", "cancelled", "suspended", "reinstated"]),
        st.integers(min_value=1, max_value=30),
    ),
    min_size=1,
    max_size=12,
)


def _apply(permits, number, kind, version):
    if kind in ("issued", "amended"):
        return permits.receive_permit(permit(number, pythons(version), version=version))
    new = {"cancelled": CANCELLED, "suspended": SUSPENDED, "reinstated": VALID}[kind]
    return permits.receive_status(status(number, version, new))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=EVENTS)
def test_once_a_cancellation_arrived_the_permit_is_never_usable_again(ledger_backend, events):
    """Any events in any order: after the first cancellation is received (applied or kept for
    a permit not yet there), the stored permit, whenever there is one, is CANCELLED; only
    PermitEventRefused is ever raised; the version never goes down."""
    _, permits = services(ledger_backend, unique_ids=True)
    permits.max_version_step = 10
    number = f"H{uuid.uuid4().hex[:12]}"  # one permit per example on a shared database
    cancelled, last_version = False, 0
    for kind, version in events:
        refused = None
        try:
            _apply(permits, number, kind, version)
        except PermitEventRefused as refusal:
            refused = refusal.code
        assert refused in (None, "PERMIT_CANCELLED_FINAL", "IMPLAUSIBLE_VERSION")
        cancelled |= kind == "cancelled" and (
            (p := stored(ledger_backend, number)) is None or p.status is CANCELLED
        )
        now = stored(ledger_backend, number)
        if now is not None:
            assert now.version >= last_version
            last_version = now.version
            if cancelled:
                assert now.status is CANCELLED, (kind, version)


def _trail(ledger, number) -> list[tuple[str, dict]]:
    with ledger.engine.connect() as c:
        return [
            tuple(row)
            for row in c.execute(
                select(audit_log.c.action, audit_log.c.details)
                .where(audit_log.c.subject == f"{number}/NA")
                .order_by(audit_log.c.id)
            )
        ]


def _side_by_side(*calls) -> list[BaseException]:
    """Run the calls in threads released together; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_a_permit_and_its_cancellation_handled_side_by_side_end_cancelled(sql_ledger):
    """Before the permit is stored, its issue and its cancellation may be handled at the same
    moment (two consumer threads or processes): neither may find the other missing and leave
    the cancellation aside while the permit is stored as valid."""
    _, permits = services(sql_ledger, unique_ids=True)
    for round_ in range(10):
        number = f"S{round_}{uuid.uuid4().hex[:8]}"
        assert (
            _side_by_side(
                lambda number=number: permits.receive_permit(permit(number)),
                lambda number=number: permits.receive_status(status(number, 2, CANCELLED)),
            )
            == []
        )
        assert stored(sql_ledger, number).status is CANCELLED, _trail(sql_ledger, number)


def test_concurrent_events_of_a_new_permit_never_revive_its_cancellation(sql_ledger):
    """Threads apply the permit, amendments, a cancellation and reinstatements of one permit
    at once (PostgreSQL runs them side by side; inserting the new permit races): no event
    fails for any other reason than the contract's, and once the cancellation took effect
    the permit stays cancelled. (A cancellation that arrives after a newer event changes
    nothing: versions decide, contract 3.1.)"""
    _, permits = services(sql_ledger, unique_ids=True)
    events = [
        ("issued", 1),
        ("amended", 2),
        ("cancelled", 3),
        ("reinstated", 4),
        ("amended", 5),
        ("suspended", 6),
        ("reinstated", 7),
        ("issued", 1),
    ]
    for round_ in range(5):
        number = f"C{round_}{uuid.uuid4().hex[:8]}"
        errors = _side_by_side(
            *(lambda e=event, n=number: _apply(permits, n, *e) for event in events)
        )
        assert [e for e in errors if getattr(e, "code", None) != "PERMIT_CANCELLED_FINAL"] == []
        trail = _trail(sql_ledger, number)
        if ("permit.status.cancelled", {"version": 3, "reason": "test"}) in trail:
            assert stored(sql_ledger, number).status is CANCELLED, trail
