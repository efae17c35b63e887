"""The outbox relay on SQLite and PostgreSQL: delivery, back-off, order per key, leases."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.adapters.outbox.worker import RelayWorker
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.mappings.outbox_messages import AMQP, CUSTOMS_CALLBACK
from tests.integration.outbox.outbox_kit import (
    T0,
    Clock,
    FakeDeliverer,
    down,
    message,
    put,
    refused,
    rows,
)

NO_JITTER = Backoff(initial=2.0, maximum=60.0, jitter=0.0)


def relay_for(ledger, deliverers, clock, **options) -> OutboxRelay:
    options.setdefault("backoff", NO_JITTER)
    return OutboxRelay(SqlOutboxStore(ledger.engine), deliverers, clock=clock, **options)


def test_due_rows_are_delivered_in_write_order_and_marked_sent(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P2"), message("m3", "P1"))
    fake, clock = FakeDeliverer(), Clock(T0 + timedelta(seconds=5))

    assert relay_for(sql_ledger, {AMQP: fake}, clock).run_once() == 3

    assert fake.delivered == ["m1", "m2", "m3"]
    stored = rows(sql_ledger)
    assert all(r["sent_at"] == clock() and r["attempts"] == 0 for r in stored.values())
    assert relay_for(sql_ledger, {AMQP: fake}, clock).run_once() == 0  # nothing twice


def test_a_retryable_failure_is_retried_with_exponential_backoff_and_counted(sql_ledger):
    put(sql_ledger, message("m1", "P1"))
    fake, clock = FakeDeliverer(fail={"m1": down("connection refused")}), Clock()
    relay = relay_for(sql_ledger, {AMQP: fake}, clock)

    assert relay.run_once() == 0
    first = rows(sql_ledger)["m1"]
    assert first["attempts"] == 1 and first["sent_at"] is None
    assert first["next_attempt_at"] == T0 + timedelta(seconds=2)
    assert "connection refused" in first["last_error"]

    clock.advance(1)
    assert relay.run_once() == 0 and fake.attempts == ["m1"]  # not due yet: not tried

    clock.advance(1)
    relay.run_once()
    second = rows(sql_ledger)["m1"]
    assert second["attempts"] == 2
    assert second["next_attempt_at"] == clock() + timedelta(seconds=4)  # doubled

    del fake.fail["m1"]
    clock.advance(4)
    assert relay.run_once() == 1
    assert rows(sql_ledger)["m1"]["sent_at"] == clock() and fake.delivered == ["m1"]


def test_backoff_is_capped_and_jittered():
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=1.0)
    assert [round(Backoff(jitter=0).delay(n)) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert all(30.0 >= backoff.delay(n) >= 16.0 for n in (5, 6, 20, 200))
    assert len({backoff.delay(3) for _ in range(20)}) > 1


def test_a_permanent_refusal_fails_the_message_until_an_operator_retries_it(sql_ledger):
    put(sql_ledger, message("m1", "P1"))
    fake, clock = FakeDeliverer(fail={"m1": refused("HTTP 400 bad request")}), Clock()
    relay = relay_for(sql_ledger, {AMQP: fake}, clock)
    store = SqlOutboxStore(sql_ledger.engine)

    relay.run_once()
    clock.advance(30 * 24 * 3600)  # a failed message is never due again by itself
    relay.run_once()
    assert fake.attempts == ["m1"]
    status = store.status()
    assert [(c.channel, c.pending, c.retrying, c.failed, c.sent) for c in status.channels] == [
        (AMQP, 0, 0, 1, 0)
    ]
    assert status.failures[0].state == "failed"
    assert status.failures[0].last_error == "refused: HTTP 400 bad request"

    del fake.fail["m1"]
    assert store.retry(clock(), [status.failures[0].id]) == [status.failures[0].id]
    assert relay.run_once() == 1 and fake.delivered == ["m1"]


def test_a_failed_head_blocks_later_rows_of_its_key_but_not_other_keys(sql_ledger):
    put(
        sql_ledger,
        message("p1-a", "P1"),
        message("p2-a", "P2"),
        message("p1-b", "P1"),
        message("p2-b", "P2"),
        message("free", None),
    )
    fake, clock = FakeDeliverer(fail={"p1-a": down()}), Clock()
    relay = relay_for(sql_ledger, {AMQP: fake}, clock)

    relay.run_once()
    assert fake.delivered == ["p2-a", "p2-b", "free"]
    clock.advance(1)
    relay.run_once()  # head not due yet: its key stays blocked, p1-b is not overtaking
    assert "p1-b" not in fake.attempts

    del fake.fail["p1-a"]
    clock.advance(5)
    assert relay.run_once() == 1  # a failed head goes alone, its followers in the next pass
    assert relay.run_once() == 1
    assert fake.delivered[-2:] == ["p1-a", "p1-b"]


def test_the_same_key_on_another_channel_is_not_blocked(sql_ledger):
    put(sql_ledger, message("amqp-1", "D1"), message("callback-1", "D1", CUSTOMS_CALLBACK))
    amqp, callback = FakeDeliverer(fail={"amqp-1": down()}), FakeDeliverer()

    relay_for(sql_ledger, {AMQP: amqp, CUSTOMS_CALLBACK: callback}, Clock()).run_once()

    assert callback.delivered == ["callback-1"] and amqp.delivered == []


def test_rows_of_a_channel_without_deliverer_stay_pending_and_unfailed(sql_ledger):
    put(sql_ledger, message("cb-1", "D1", CUSTOMS_CALLBACK), message("u-1", "P1"))
    fake = FakeDeliverer()

    assert relay_for(sql_ledger, {AMQP: fake}, Clock()).run_once() == 1

    waiting = rows(sql_ledger)["cb-1"]
    assert waiting["sent_at"] is None and waiting["attempts"] == 0
    assert waiting["next_attempt_at"] is None and waiting["last_error"] is None
    counts = {c.channel: c for c in SqlOutboxStore(sql_ledger.engine).status().channels}
    assert (counts[CUSTOMS_CALLBACK].pending, counts[CUSTOMS_CALLBACK].failed) == (1, 0)


def test_an_unexpected_deliverer_error_is_retried_not_dropped(sql_ledger):
    put(sql_ledger, message("m1", "P1"))
    fake = FakeDeliverer(fail={"m1": KeyError("template variable")})

    relay_for(sql_ledger, {AMQP: fake}, Clock()).run_once()

    row = rows(sql_ledger)["m1"]
    assert row["attempts"] == 1 and row["sent_at"] is None
    assert row["last_error"].startswith("KeyError") and not row["last_error"].startswith("perm")


def test_rows_claimed_by_a_relay_that_died_come_back_after_the_lease(sql_ledger):
    put(sql_ledger, message("m1", "P1"), message("m2", "P1"))
    clock = Clock()
    store = SqlOutboxStore(sql_ledger.engine)
    claimed = store.claim_due([AMQP], clock(), 10, timedelta(seconds=120))
    assert [r.message_id for r in claimed] == ["m1", "m2"]  # ...and the relay dies here

    fake = FakeDeliverer()
    survivor = relay_for(sql_ledger, {AMQP: fake}, clock)
    clock.advance(60)
    assert survivor.run_once() == 0  # leased: not taken while the lease runs
    clock.advance(61)
    assert survivor.run_once() == 2 and fake.delivered == ["m1", "m2"]


def test_a_stopping_relay_gives_the_rest_of_its_batch_back(sql_ledger):
    put(sql_ledger, *(message(f"m{i}", "P1") for i in range(5)))
    fake, clock = FakeDeliverer(), Clock()
    relay = relay_for(sql_ledger, {AMQP: fake}, clock)

    assert relay.run_once(should_stop=lambda: len(fake.delivered) >= 2) == 2

    assert relay.run_once() == 3  # released rows are due at once, in order
    assert fake.delivered == [f"m{i}" for i in range(5)]


def test_the_worker_delivers_in_the_background_and_stops_cleanly(sql_ledger):
    fake = FakeDeliverer()
    worker = RelayWorker(
        relay_for(sql_ledger, {AMQP: fake}, Clock(T0 + timedelta(hours=1))), poll_interval=0.05
    )
    worker.start()
    try:
        put(sql_ledger, message("m1", "P1"), message("m2", "P2"))
        worker.wake()
        deadline = time.monotonic() + 10
        while len(fake.delivered) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop(timeout=5)
    assert sorted(fake.delivered) == ["m1", "m2"]
    assert not worker.running


class SlowCountingDeliverer:
    """Records every delivery and notices two relays holding one message at the same time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight: set[str] = set()
        self.overlaps: list[str] = []
        self.delivered: list[tuple[str, str]] = []

    def deliver(self, row):
        with self.lock:
            if row.message_id in self.in_flight:
                self.overlaps.append(row.message_id)
            self.in_flight.add(row.message_id)
        time.sleep(0.001)
        with self.lock:
            self.in_flight.discard(row.message_id)
            self.delivered.append((row.ordering_key, row.message_id))


@pytest.mark.parametrize("relays", [2, 4])
def test_relays_sharing_one_database_never_deliver_a_row_twice_or_out_of_order(sql_ledger, relays):
    keys, per_key = 8, 25
    put(
        sql_ledger,
        *(message(f"k{n % keys}-{n // keys:03d}", f"k{n % keys}") for n in range(keys * per_key)),
    )
    fake = SlowCountingDeliverer()
    # each relay gets its own engine (connection pool), as separate connector processes would
    url = sql_ledger.engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(relays)]
    workers = [
        RelayWorker(
            OutboxRelay(SqlOutboxStore(e), {AMQP: fake}, batch_size=7, backoff=NO_JITTER),
            poll_interval=0.01,
        )
        for e in engines
    ]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 60
        while len(fake.delivered) < keys * per_key and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for w in workers:
            w.stop(timeout=10)
        for e in engines:
            e.dispose()

    ids = [m for _, m in fake.delivered]
    assert fake.overlaps == []
    assert sorted(ids) == sorted(set(ids)) and len(ids) == keys * per_key
    for key in range(keys):
        sequence = [m for k, m in fake.delivered if k == f"k{key}"]
        assert sequence == sorted(sequence), f"key k{key} delivered out of order"
    assert all(r["sent_at"] is not None for r in rows(sql_ledger).values())
