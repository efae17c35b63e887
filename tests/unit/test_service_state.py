"""ServiceState: what /healthz and the console's operations page show of a dependency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cites_connector.services.service_state import (
    MAX_ERROR,
    NOT_CONFIGURED,
    REACHABLE,
    UNKNOWN,
    UNREACHABLE,
    ServiceState,
)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_dependency_never_named_is_not_configured_and_one_named_is_unknown_until_reported():
    state = ServiceState(Clock())
    assert state.word("epix") == NOT_CONFIGURED and state.get("epix") is None
    state.expect("epix")
    assert state.word("epix") == UNKNOWN
    assert state.get("epix").since is None and state.all()[0].name == "epix"


def test_since_moves_only_when_the_state_changes_and_the_last_failure_is_kept():
    clock = Clock()
    state = ServiceState(clock)
    report = state.reporter("epix")
    report(True)
    began = clock.now
    clock.advance(10)
    report(True)
    assert state.get("epix").since == began and state.get("epix").checked_at == clock.now
    clock.advance(5)
    state.record("epix", False, "ConnectTimeout")
    down = state.get("epix")
    assert (down.word, down.since, down.last_error, down.failed_at) == (
        UNREACHABLE,
        clock.now,
        "ConnectTimeout",
        clock.now,
    )
    failed_at = clock.now
    clock.advance(30)
    state.record("epix", False)  # no class given: still unreachable, since unchanged
    assert state.get("epix").since == failed_at and state.get("epix").last_error == "unknown"
    clock.advance(30)
    report(True)
    back = state.get("epix")
    assert (back.word, back.since) == (REACHABLE, clock.now)
    assert back.last_error == "unknown" and back.failed_at == failed_at + timedelta(seconds=30)


def test_an_error_label_is_cut_to_a_label():
    state = ServiceState(Clock())
    state.record("customs", False, "X" * 500)
    assert len(state.get("customs").last_error) == MAX_ERROR


def test_reports_from_many_threads_leave_one_consistent_record():
    state = ServiceState()
    state.expect("epix")

    def hammer(up: bool) -> None:
        for _ in range(2000):
            state.record("epix", up, None if up else "ReadTimeout")

    threads = [threading.Thread(target=hammer, args=(i % 2 == 0,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = state.get("epix")
    assert final.word in (REACHABLE, UNREACHABLE)
    assert final.last_error == "ReadTimeout" and final.checked_at is not None
    assert [s.name for s in state.all()] == ["epix"]


def test_the_outbox_deliverers_report_customs_and_the_broker():
    from cites_connector.adapters.outbox.delivery import (
        PermanentDeliveryError,
        RetryableDeliveryError,
    )
    from cites_connector.app.dependency_watch import watched

    class Deliverer:
        def __init__(self):
            self.error: Exception | None = None

        def deliver(self, row) -> None:
            if self.error is not None:
                raise self.error

    customs, broker, epix = Deliverer(), Deliverer(), Deliverer()
    state = ServiceState(Clock())
    wrapped = watched({"customs-callback": customs, "amqp": broker, "epix.confirm": epix}, state)
    assert wrapped["epix.confirm"] is epix  # EPIX is reported by its lookup port
    assert [s.name for s in state.all()] == ["broker", "customs"]
    assert state.word("customs") == UNKNOWN

    try:
        raise RetryableDeliveryError("customs https://customs.example:8443 down") from (
            ConnectionRefusedError("refused")
        )
    except RetryableDeliveryError as exc:
        customs.error = exc
    with pytest.raises(RetryableDeliveryError):  # passed on to the relay unchanged
        wrapped["customs-callback"].deliver(None)
    down = state.get("customs")
    assert (down.word, down.last_error) == (UNREACHABLE, "ConnectionRefusedError")
    customs.error = PermanentDeliveryError("refused: 403")  # it answered
    with pytest.raises(PermanentDeliveryError):
        wrapped["customs-callback"].deliver(None)
    assert state.word("customs") == REACHABLE
    wrapped["amqp"].deliver(None)
    assert state.word("broker") == REACHABLE
