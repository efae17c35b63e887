"""Permit events applied a batch at a time (issue 14): one ledger transaction and one ack for
what the broker delivered together, with each event still applied exactly once.

The consumer's own code runs here on a real SQLite ledger; only pika's side (the deliveries
and the channel the verdicts go to) is played by the test."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.spec import Basic
from sqlalchemy import func, select

from cites_connector.adapters.amqp.permit_consumer import PermitConsumer
from cites_connector.adapters.amqp.permit_handler import Ack, Reject
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.settings import load_settings
from cites_connector.mappings.permit_json import parse_permit
from cites_connector.services.permits import IncomingEvent, IntakeOutcome
from tests.integration.kit import Clock

ROOT = Path(__file__).resolve().parents[2]
PUBLISHER = "permit-system"


class ProcessDied(BaseException):
    """The process dying half-way through a transaction: nothing catches it."""


class DyingClock(Clock):
    """Dies at its ``dies_at``-th reading (a crash in the middle of a batch)."""

    def __init__(self, dies_at: int):
        super().__init__()
        self.readings = 0
        self.dies_at = dies_at

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings == self.dies_at:
            raise ProcessDied
        return super().__call__()


def make_app(tmp_path: Path, clock: Clock | None = None):
    settings = load_settings(home_country="NA", data_dir=tmp_path / "var", soap_auth="off")
    app = build_application(settings, clock=clock or Clock())
    upgrade(app.engine)
    return app


def permit_json(i: int) -> dict[str, Any]:
    body = copy.deepcopy(json.loads((ROOT / "examples" / "permits-namibia.json").read_text())[0])
    body["permit_number"] = f"26NA{i:06d}"
    return body


def permit_bodies(
    count: int, *, poison_at: int | None = None, poison: str = "source"
) -> list[bytes]:
    bodies = []
    for i in range(count):
        body = permit_json(i)
        if i == poison_at and poison == "source":
            # read fine, refused before the transaction: source A (artificially propagated
            # plants) for a python is a mapping error of the permit (services/permits.py)
            body["lines"][0]["source"] = "A"
        if i == poison_at and poison == "version":
            # refused inside the transaction, after the events before it were applied in it:
            # version 1 is stored, a jump to 5000 is IMPLAUSIBLE_VERSION (permit_store.py)
            body["version"] = 5000
        bodies.append(json.dumps(body).encode())
    return bodies


def deliveries(
    bodies: Sequence[bytes], *, redelivered: bool = False, first_tag: int = 1
) -> list[tuple[Basic.Deliver, pika.BasicProperties, bytes]]:
    return [
        (
            Basic.Deliver(
                consumer_tag="test",
                delivery_tag=first_tag + i,
                redelivered=redelivered,
                exchange="cites.permits",
                routing_key="permit.issued",
            ),
            pika.BasicProperties(
                content_type="application/json", message_id=f"msg-{i}", user_id=PUBLISHER
            ),
            body,
        )
        for i, body in enumerate(bodies)
    ]


def counts(app) -> dict[str, int]:
    with app.engine.connect() as c:
        return {
            table.name: c.execute(select(func.count()).select_from(table)).scalar()
            for table in (t.permits, t.permit_lines, t.inbox, t.audit_log, t.outbox)
        }


class Journal:
    """What happened, in order: commits of the ledger and what went to the channel."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []


class JournalledIntake:
    """The real PermitService, noting in the journal when a batch has committed."""

    def __init__(self, permits, journal: Journal):
        self.permits = permits
        self.journal = journal

    def receive_batch(self, events: Sequence[IncomingEvent]) -> list[IntakeOutcome]:
        outcomes = self.permits.receive_batch(events)
        self.journal.entries.append(("committed", len(events)))
        return outcomes

    def receive_permit(self, permit, **kwargs) -> IntakeOutcome:
        outcome = self.permits.receive_permit(permit, **kwargs)
        self.journal.entries.append(("committed", 1))
        return outcome

    def receive_status(self, change, **kwargs) -> IntakeOutcome:
        outcome = self.permits.receive_status(change, **kwargs)
        self.journal.entries.append(("committed", 1))
        return outcome


class RecordingChannel:
    """pika's channel as the consumer loop uses it for verdicts, recorded in the journal."""

    def __init__(self, journal: Journal):
        self.journal = journal

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.journal.entries.append(("ack", delivery_tag, multiple))

    def basic_nack(self, delivery_tag: int, requeue: bool = True) -> None:
        self.journal.entries.append(("nack", delivery_tag, requeue))

    def basic_publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        self.journal.entries.append(("dead-letter", properties.headers["x-rejection-reason"]))

    def queue_declare(self, *_args, **_kwargs):  # pragma: no cover - only when polling
        raise AssertionError("not expected")


class IdleConnection:
    def sleep(self, seconds: float) -> None:
        pass


def consumer_for(app, intake) -> PermitConsumer:
    return PermitConsumer(
        intake,
        "amqp://unused.invalid/",
        SqlDeliveryAttempts.for_ledger(app.ledger),
        publishers=(PUBLISHER,),
    )


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    app.close()


def test_a_batch_is_applied_in_one_commit_and_acked_once_after_it(app):
    journal = Journal()
    consumer = consumer_for(app, JournalledIntake(app.permits, journal))
    batch = deliveries(permit_bodies(5))

    consumer._loops[0]._handle_batch(IdleConnection(), RecordingChannel(journal), batch)

    # the commit first, then one ack for all five
    assert journal.entries == [("committed", 5), ("ack", 5, True)]
    assert counts(app)["permits"] == 5
    assert counts(app)["inbox"] == 5


@pytest.mark.parametrize(
    ("poison", "reason"),
    [("source", "source A (artificially propagated)"), ("version", "IMPLAUSIBLE_VERSION")],
)
def test_a_poison_message_in_a_batch_is_dead_lettered_alone_and_the_rest_committed(
    app, poison, reason
):
    app.permits.apply(parse_permit(permit_json(2)))
    before = counts(app)
    journal = Journal()
    consumer = consumer_for(app, JournalledIntake(app.permits, journal))
    batch = deliveries(permit_bodies(5, poison_at=2, poison=poison))

    consumer._loops[0]._handle_batch(IdleConnection(), RecordingChannel(journal), batch)

    # the batch failed as a whole (nothing committed), then one by one: four commits, the
    # poison dead-lettered and acked alone, the four others acked after their commits
    dead = [e for e in journal.entries if e[0] == "dead-letter"]
    assert len(dead) == 1
    assert reason in dead[0][1]
    assert journal.entries.count(("committed", 1)) == 4
    assert ("ack", 3, False) in journal.entries  # the poison's own ack, after its copy
    assert journal.entries.index(dead[0]) < journal.entries.index(("ack", 3, False))
    last_commit = max(i for i, e in enumerate(journal.entries) if e[0] == "committed")
    assert journal.entries[-1] == ("ack", 5, True)
    assert journal.entries.index(("ack", 5, True)) > last_commit
    with app.engine.connect() as c:
        stored = set(c.execute(select(t.permits.c.permit_number)).scalars())
    assert stored == {f"26NA{i:06d}" for i in range(5)}
    assert counts(app)["permits"] == before["permits"] + 4
    assert counts(app)["inbox"] == before["inbox"] + 4
    assert app.permits.balance("26NA000002", "NA").permit.version == 1  # the poison changed nothing


def test_the_handler_refuses_only_the_poison_of_a_batch(app):
    consumer = consumer_for(app, app.permits)
    verdicts = consumer.handler.handle_batch(
        deliveries(permit_bodies(4, poison_at=0)), consumer._loops[0].watch, lambda s: False
    )
    assert isinstance(verdicts[0], Reject)
    assert all(isinstance(v, Ack) and v.outcome.applied.applied for v in verdicts[1:])


def test_a_crash_mid_batch_redelivers_and_applies_each_event_exactly_once(tmp_path):
    bodies = permit_bodies(6)
    # the process dies at the fourth event of the batch: the transaction never commits
    dying = make_app(tmp_path, DyingClock(dies_at=4))
    consumer = consumer_for(dying, dying.permits)
    with pytest.raises(ProcessDied):
        consumer.handler.handle_batch(deliveries(bodies), consumer._loops[0].watch, lambda s: False)
    assert counts(dying)["permits"] == 0
    assert counts(dying)["inbox"] == 0
    dying.close()

    # restarted: RabbitMQ delivers the unacknowledged messages again, marked redelivered
    app = make_app(tmp_path)
    try:
        consumer = consumer_for(app, app.permits)
        watch = consumer._loops[0].watch
        verdicts = consumer.handler.handle_batch(
            deliveries(bodies, redelivered=True), watch, lambda s: False
        )
        assert all(isinstance(v, Ack) and v.outcome.applied.applied for v in verdicts)
        after = counts(app)
        assert after["permits"] == 6
        assert after["inbox"] == 6

        # the process died again after the commit, before the ack: delivered once more,
        # as a batch of first deliveries and as redeliveries, nothing changes
        for redelivered in (True, False):
            verdicts = consumer.handler.handle_batch(
                deliveries(bodies, redelivered=redelivered), watch, lambda s: False
            )
            assert all(isinstance(v, Ack) and v.outcome.duplicate for v in verdicts)
            assert counts(app) == after
    finally:
        app.close()


def test_events_of_one_permit_in_one_batch_end_in_the_highest_version(app):
    template = json.loads((ROOT / "examples" / "permits-namibia.json").read_text())[0]
    versions = []
    for version in (1, 3, 2):
        body = copy.deepcopy(template)
        body["version"] = version
        body["lines"][0]["quantity"] = str(10 * version)
        versions.append(json.dumps(body).encode())
    consumer = consumer_for(app, app.permits)
    verdicts = consumer.handler.handle_batch(
        deliveries(versions), consumer._loops[0].watch, lambda s: False
    )
    assert [v.outcome.applied.applied for v in verdicts] == [True, True, False]
    balance = app.permits.balance(template["permit_number"], "NA")
    assert balance.permit.version == 3
    assert balance.permit.lines[0].quantity == 30
