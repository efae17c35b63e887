"""Outbox lanes on SQLite and PostgreSQL (issue 14): a lane claims its own channels only, each
row is marked sent as it is confirmed, leases are short and renewed while a lane works, a
receiver out of reach ends the batch and pauses the lane, a stuck lane is named."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cites_connector.adapters.metrics.endpoints import Monitoring
from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.metrics.scrape import LedgerCollector
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import UnreachableError
from cites_connector.adapters.outbox.lanes import LaneStuck, lane_of, lanes_of
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.status import oldest_waiting_age, read_status
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.outbox.worker import LeaseKeeper, OutboxLanes, RelayWorker
from cites_connector.adapters.soap.health import HealthCheck
from cites_connector.mappings.epix_messages import EPIX_CONFIRM
from cites_connector.mappings.outbox_messages import AMQP, CUSTOMS_CALLBACK
from tests.integration.outbox.outbox_kit import T0, Clock, FakeDeliverer, message, put, rows

LEASE = timedelta(seconds=10)
NO_JITTER = Backoff(initial=2.0, maximum=60.0, jitter=0.0)


def relay_for(ledger, deliverers, clock, **options) -> OutboxRelay:
    options.setdefault("backoff", NO_JITTER)
    options.setdefault("lease", LEASE)
    return OutboxRelay(SqlOutboxStore(ledger.engine), deliverers, clock=clock, **options)


class Hanging:
    """A receiver that hangs until released: the customs endpoint that never answers."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.delivered: list[str] = []

    def deliver(self, row) -> None:
        self.entered.set()
        self.release.wait(30)
        self.delivered.append(row.message_id)


def test_channels_are_grouped_in_lanes():
    assert lane_of(AMQP) == "amqp" and lane_of(CUSTOMS_CALLBACK) == "customs"
    assert lane_of(EPIX_CONFIRM) == "epix" and lane_of("other") == "other"
    assert lanes_of([EPIX_CONFIRM, AMQP, CUSTOMS_CALLBACK]) == {
        "amqp": [AMQP],
        "customs": [CUSTOMS_CALLBACK],
        "epix": [EPIX_CONFIRM],
    }


def test_each_row_is_marked_sent_as_soon_as_it_is_confirmed(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P1"), message("m3", "P2"))
    seen: list[tuple[str, list[str]]] = []

    class Recording:
        def deliver(self, row) -> None:
            sent = [m for m, r in rows(sql_ledger).items() if r["sent_at"] is not None]
            seen.append((row.message_id, sent))

    assert relay_for(sql_ledger, {AMQP: Recording()}, Clock()).run_once() == 3
    # each delivery sees every earlier row already marked: a crash resends only the one in hand
    assert seen == [("m1", []), ("m2", ["m1"]), ("m3", ["m1", "m2"])]


def test_a_lane_claims_only_its_channels_and_a_hung_lane_holds_no_other(sql_ledger):
    # the same permit in both lanes: a leased callback never blocks the usage reports
    put(sql_ledger, message("cb-1", "P1", channel=CUSTOMS_CALLBACK), message("u-1", "P1"))
    put(sql_ledger, message("u-2", "P1"), message("cb-2", "P1", channel=CUSTOMS_CALLBACK))
    hanging, fake = Hanging(), FakeDeliverer()
    store = SqlOutboxStore(sql_ledger.engine)
    customs = RelayWorker(
        OutboxRelay(store, {CUSTOMS_CALLBACK: hanging}, lane="customs"), poll_interval=0.02
    )
    amqp = RelayWorker(OutboxRelay(store, {AMQP: fake}, lane="amqp"), poll_interval=0.02)
    lanes = OutboxLanes([customs, amqp])
    lanes.start()
    try:
        assert hanging.entered.wait(10)
        started = time.monotonic()
        while len(fake.delivered) < 2 and time.monotonic() - started < 5:
            time.sleep(0.01)
        delay = time.monotonic() - started
        assert fake.delivered == ["u-1", "u-2"] and delay < 2.0
        assert hanging.delivered == []
        hanging.release.set()
        while len(hanging.delivered) < 2 and time.monotonic() - started < 10:
            time.sleep(0.01)
    finally:
        hanging.release.set()
        lanes.stop(timeout=10)
    assert hanging.delivered == ["cb-1", "cb-2"]  # in order within its lane
    assert all(r["sent_at"] is not None for r in rows(sql_ledger).values())


def test_leases_are_short_and_renewed_while_a_lane_works(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P1"))
    clock = Clock(T0 + timedelta(minutes=1))
    hanging = Hanging()
    working = relay_for(sql_ledger, {AMQP: hanging}, clock)
    thread = threading.Thread(target=working.run_once)
    thread.start()
    try:
        assert hanging.entered.wait(10)
        leased = rows(sql_ledger)
        assert leased["m1"]["next_attempt_at"] == clock() + LEASE  # both rows of the batch
        assert leased["m2"]["next_attempt_at"] == clock() + LEASE
        other = relay_for(sql_ledger, {AMQP: FakeDeliverer()}, clock)

        clock.advance(8)  # the delivery takes long: the keeper renews, another waits
        keeper = LeaseKeeper([working], interval=1)
        keeper.renew_once()
        assert rows(sql_ledger)["m2"]["next_attempt_at"] == clock() + LEASE
        clock.advance(8)  # past the first lease, within the renewed one
        assert other.run_once() == 0
        keeper.renew_once()  # the keeper goes on while the delivery lasts
    finally:
        hanging.release.set()
        thread.join(10)
    after = rows(sql_ledger)
    assert after["m1"]["sent_at"] is not None and after["m2"]["sent_at"] is not None
    assert working.renew_leases() == 0  # nothing in hand: nothing renewed


def test_a_crashed_lanes_rows_are_taken_over_after_one_short_lease(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P1"), message("m3", "P2"))
    clock = Clock(T0 + timedelta(minutes=1))
    store = SqlOutboxStore(sql_ledger.engine)
    store.claim_due([AMQP], clock(), 10, LEASE)  # a process that then died (kill -9)
    fake = FakeDeliverer()
    survivor = relay_for(sql_ledger, {AMQP: fake}, clock)
    assert survivor.run_once() == 0
    clock.advance(LEASE.total_seconds())
    assert survivor.run_once() == 3 and fake.delivered == ["m1", "m2", "m3"]


def test_a_lane_without_renewal_starts_no_delivery_after_half_its_lease(sql_ledger):
    put(sql_ledger, *(message(f"m{n}", f"P{n}") for n in range(4)))
    clock = Clock(T0 + timedelta(minutes=1))

    class Slow(FakeDeliverer):
        def deliver(self, row) -> None:
            super().deliver(row)
            clock.advance(3)  # and the database is out of reach: nobody renews

    slow = Slow()
    assert relay_for(sql_ledger, {AMQP: slow}, clock).run_once() == 2
    after = rows(sql_ledger)
    assert [m for m, r in after.items() if r["sent_at"] is None] == ["m2", "m3"]
    assert after["m2"]["next_attempt_at"] == clock()  # given back, due now


def test_a_receiver_out_of_reach_ends_the_batch_and_pauses_the_lane(sql_ledger, caplog):
    put(sql_ledger, *(message(f"m{n}", f"P{n}") for n in range(5)))
    clock = Clock(T0 + timedelta(minutes=1))
    fake = FakeDeliverer(fail={f"m{n}": UnreachableError("connection refused") for n in range(5)})
    relay = relay_for(
        sql_ledger,
        {AMQP: fake},
        clock,
        max_attempts=1,
        lane_backoff=Backoff(initial=0.5, maximum=4.0, jitter=0.0),
    )
    assert relay.run_once() == 0
    assert fake.attempts == ["m0"]  # one attempt, not one per row
    assert relay.take_pause() == 0.5 and relay.take_pause() == 0.0
    after = rows(sql_ledger)
    # counted, never given up for (max_attempts 1): the receiver, not the message, failed
    assert after["m0"]["attempts"] == 1 and after["m0"]["failed_at"] is None
    assert after["m0"]["next_attempt_at"] == clock() + timedelta(seconds=2)
    assert all(after[f"m{n}"]["next_attempt_at"] == clock() for n in range(1, 5))
    for _ in range(4):  # the broker still down: one row tried per pass, the pause doubling
        relay.run_once()
    assert fake.attempts == ["m0", "m1", "m2", "m3", "m4"]
    assert relay.take_pause() == 4.0  # capped
    assert relay.watch.failing
    fake.fail.clear()
    clock.advance(5)
    assert relay.run_once() == 5 and not relay.watch.failing


def test_the_worker_waits_out_the_lane_pause_even_when_woken(sql_ledger):
    put(sql_ledger, *(message(f"m{n}", f"P{n}") for n in range(3)))
    fake = FakeDeliverer(fail={"m0": UnreachableError("connection refused")})
    relay = relay_for(
        sql_ledger,
        {AMQP: fake},
        Clock(T0 + timedelta(hours=1)),
        lane_backoff=Backoff(initial=1.0, maximum=1.0, jitter=0.0),
    )
    worker = RelayWorker(relay, poll_interval=0.01)
    worker.start()
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            worker.wake()  # a permit applied: must not cut the pause short
            time.sleep(0.01)
    finally:
        worker.stop(timeout=5)
    assert len(fake.attempts) == 1


def test_a_stuck_lane_is_named_by_readyz_and_its_gauge(sql_ledger):
    put(sql_ledger, message("cb-1", "D1", channel=CUSTOMS_CALLBACK), at=T0)
    now = Clock(T0 + timedelta(minutes=5))
    hanging, fake = Hanging(), FakeDeliverer()
    store = SqlOutboxStore(sql_ledger.engine)
    customs = RelayWorker(
        OutboxRelay(store, {CUSTOMS_CALLBACK: hanging}, clock=now, lane="customs"),
        poll_interval=0.02,
        name="outbox-customs",
    )
    amqp = RelayWorker(
        OutboxRelay(store, {AMQP: fake}, clock=now, lane="amqp"),
        poll_interval=0.02,
        name="outbox-amqp",
    )
    lanes = OutboxLanes(
        [amqp, customs],
        stuck_seconds=0.3,
        oldest_waiting=lambda channels: oldest_waiting_age(sql_ledger.engine, channels, now()),
    )
    readiness = HealthCheck([(f"outbox-{lane}", lanes.probe(lane)) for lane in lanes.lanes])
    metrics = ConnectorMetrics("test")
    metrics.add_collector(LedgerCollector(sql_ledger.engine, now, lanes.stuck_lanes))
    monitoring = Monitoring(metrics, readiness, version="test")
    lanes.start()
    try:
        assert hanging.entered.wait(10)
        time.sleep(0.5)
        statuses: list[str] = []
        answer = monitoring(
            {"PATH_INFO": "/readyz", "REQUEST_METHOD": "GET"},
            lambda status, headers: statuses.append(status),
        )
        body = json.loads(b"".join(answer))
        assert statuses == ["503 Service Unavailable"]
        assert body["checks"]["outbox-amqp"] == "ok"
        assert body["checks"]["outbox-customs"] == "stuck"
        assert "http" not in json.dumps(body)  # states only: no host, no URL
        with pytest.raises(LaneStuck, match="outbox lane customs is stuck"):
            lanes.probe("customs")()
        gauges = {
            s.labels["lane"]: s.value
            for family in text_string_to_metric_families(metrics.render().decode())
            if family.name == "cites_connector_outbox_lane_stuck"
            for s in family.samples
        }
        assert gauges == {"amqp": 0, "customs": 1}
        hanging.release.set()
        deadline = time.monotonic() + 5
        while lanes.stuck_lanes()["customs"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lanes.stuck_lanes() == {"amqp": False, "customs": False}
    finally:
        hanging.release.set()
        lanes.stop(timeout=10)
        readiness.close()


def test_outbox_status_counts_per_lane(sql_ledger):
    put(
        sql_ledger,
        message("u-1", "P1"),
        message("cb-1", "D1", channel=CUSTOMS_CALLBACK),
        message("ep-1", "P1", channel=EPIX_CONFIRM),
        at=T0,
    )
    relay_for(sql_ledger, {AMQP: FakeDeliverer()}, Clock()).run_once()
    lanes = {lane.lane: lane for lane in read_status(sql_ledger.engine).lanes}
    assert sorted(lanes) == ["amqp", "customs", "epix"]
    assert lanes["amqp"].sent == 1 and lanes["amqp"].oldest_waiting_at is None
    assert lanes["customs"].pending == 1 and lanes["customs"].oldest_waiting_at == T0
    assert lanes["epix"].channels == EPIX_CONFIRM


def test_a_broker_that_is_down_is_tried_once_per_pause_not_once_per_row(sql_ledger, caplog):
    import socket

    from cites_connector.adapters.amqp.publisher import AmqpDeliverer
    from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
    from tests.integration.customs.test_customs_callback import callback

    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    put(sql_ledger, *(message(f"m{n}", f"P{n}") for n in range(20)))
    put(sql_ledger, *(callback(f"c{n}", f"WDHA-{n}") for n in range(5)))
    store = SqlOutboxStore(sql_ledger.engine)
    clock = Clock(T0 + timedelta(minutes=1))
    deliverers = {
        AMQP: AmqpDeliverer(f"amqp://guest:guest@127.0.0.1:{port}/"),
        CUSTOMS_CALLBACK: CustomsCallbackClient(f"http://127.0.0.1:{port}/cb", allow_http=True),
    }
    for channel, deliverer in deliverers.items():
        relay = OutboxRelay(store, {channel: deliverer}, clock=clock)
        assert relay.run_once() == 0
        assert relay.take_pause() > 0
    after = rows(sql_ledger)
    tried = sorted(m for m, r in after.items() if r["attempts"])
    assert tried == ["c0", "m0"]  # one row per lane, the rest given back due now
    assert "UnreachableError" in after["m0"]["last_error"]
    assert all(r["next_attempt_at"] == clock() for m, r in after.items() if m not in tried)
