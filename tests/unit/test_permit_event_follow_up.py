"""A permit event's follow-up (releases, withdrawal reports) finishes on redelivery.

The permit change commits first; the follow-up runs after it, one transaction per declaration,
and the message is acknowledged only after both. These tests stop the ledger between the two,
as a crash or an outage would, and deliver the same message again: the repeat changes no
permit, finishes the follow-up, and sends nothing twice.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from cites_connector.domain.errors import Unavailable
from cites_connector.domain.permits import ConsignmentPolicy, PermitStatus, PermitStatusChange
from cites_connector.domain.usages import DeclarationState
from tests.integration.kit import export, outbox, permit, python_item, pythons, services
from tests.memory_ledger import MemoryLedger


class StoppingLedger(MemoryLedger):
    """The in-memory ledger, unreachable from the n-th writing transaction on, once armed."""

    def __init__(self):
        super().__init__()
        self.stop_at: int | None = None

    @contextmanager
    def transaction(self):
        if self.stop_at is not None:
            self.stop_at -= 1
            if self.stop_at <= 0:
                raise Unavailable("the ledger database is not reachable: stopped by the test")
        with super().transaction() as session:
            yield session


def callbacks(ledger) -> list:
    return [m for m in outbox(ledger) if m.channel == "customs-callback"]


def test_releases_interrupted_after_the_permit_committed_finish_on_redelivery():
    ledger = StoppingLedger()
    clearance, permits = services(ledger)
    for declaration_id in ("D1", "D2"):
        clearance.clear(declaration_id, 1, export(python_item(1, 1, "P1")))
    ledger.stop_at = 3  # the permit commits, D1 is released, the ledger goes away

    with pytest.raises(Unavailable):
        permits.receive_permit(
            permit("P1", pythons(40), policy=ConsignmentPolicy.MULTIPLE), message_id="m-1"
        )
    assert [clearance.stored(d).state for d in ("D1", "D2")] == [
        DeclarationState.CLEARED,
        DeclarationState.HELD,
    ]
    ledger.stop_at = None

    again = permits.receive_permit(
        permit("P1", pythons(40), policy=ConsignmentPolicy.MULTIPLE), message_id="m-1"
    )

    assert again.duplicate and [d.declaration_id for d in again.released] == ["D2"]
    assert clearance.stored("D2").state is DeclarationState.CLEARED
    assert [c.body["declaration_id"] for c in callbacks(ledger)] == ["D1", "D2"]


def test_withdrawal_reports_interrupted_finish_on_redelivery_and_none_is_sent_twice():
    ledger = StoppingLedger()
    clearance, permits = services(ledger)
    permits.apply(permit("M1", pythons(40), policy=ConsignmentPolicy.MULTIPLE))
    for declaration_id in ("D1", "D2"):
        clearance.clear(declaration_id, 1, export(python_item(1, 1, "M1")))
    cancelled = PermitStatusChange("M1", "NA", 2, PermitStatus.CANCELLED, "fraud")
    ledger.stop_at = 3  # the cancellation commits, D1 is reported, the ledger goes away

    with pytest.raises(Unavailable):
        permits.receive_status(cancelled, message_id="m-2")
    assert [c.body["declaration_id"] for c in callbacks(ledger)] == ["D1"]
    ledger.stop_at = None

    again = permits.receive_status(cancelled, message_id="m-2")
    repeat = permits.receive_status(cancelled, message_id="m-2")

    assert again.duplicate and again.reported == ("D2",) and repeat.reported == ()
    sent = callbacks(ledger)
    assert [c.body["declaration_id"] for c in sent] == ["D1", "D2"]
    assert all(c.body["reasons"][-1]["code"] == "PERMIT_CANCELLED" for c in sent)
