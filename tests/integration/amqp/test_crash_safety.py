"""kill -9 of ``cites-connector serve`` while it consumes permit events and relays the outbox
under load, then a restart: nothing lost, nothing applied twice (ledger totals, messages counted
by id on test queues)."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql import tables as t
from cites_connector.domain.decisions import DeclarationDecision
from tests.integration.amqp.amqp_kit import TestBroker, make_app, sample_permits, wait_for
from tests.integration.kit import export, python_item

pytestmark = pytest.mark.rabbitmq
EVENTS = 300


def command() -> list[str]:
    found = shutil.which("cites-connector")
    return (
        [found]
        if found
        else [sys.executable, "-c", "from cites_connector.cli.main import main; main()"]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def count(app, table, *where) -> int:
    with app.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar()


def number(i: int) -> str:
    return f"26NA{i:06d}"


def test_kill_9_under_load_then_restart_loses_nothing_and_applies_nothing_twice(tmp_path, amqp_url):
    app = make_app(tmp_path, amqp_url)
    for i in range(EVENTS):  # every declaration waits for its permit
        held = app.clearance.clear(f"D-{i}", 1, export(python_item(1, 10, number(i))))
        assert held.decision.decision is DeclarationDecision.HELD
    broker = TestBroker(amqp_url)
    topology.declare(broker.channel)
    usage = broker.capture(topology.USAGE_EXCHANGE)
    notices = broker.capture(topology.NOTIFICATIONS_EXCHANGE)
    template = sample_permits()[0]
    for i in range(EVENTS):
        body = copy.deepcopy(template) | {"permit_number": number(i)}
        broker.publish("permit.issued", body, message_id=f"ev-{i}")
        if i % 3 == 0:  # the permit system's own at-least-once: some events come twice
            broker.publish("permit.issued", body, message_id=f"ev-{i}")

    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": amqp_url,
        "CONNECTOR_SOAP_PORT": str(free_port()),
        "CONNECTOR_SOAP_AUTH": "off",
        "CONNECTOR_AMQP_WORKERS": "2",
        "CONNECTOR_AMQP_PREFETCH": "20",
        # rows the killed relay had claimed come back after the lease: keep it short
        "CONNECTOR_OUTBOX_LEASE_SECONDS": "3",
    }
    env.pop("CONNECTOR_DATABASE_URL", None)

    def serve() -> subprocess.Popen:
        with open(tmp_path / "serve.log", "ab") as logs:  # the child keeps its own descriptor
            return subprocess.Popen([*command(), "serve"], env=env, stdout=logs, stderr=logs)

    def applied() -> int:
        return count(app, t.inbox)

    first = serve()
    try:
        wait_for(lambda: applied() >= EVENTS // 5, 60, what="a fifth of the events")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill, on_the_wire = applied(), broker.depth(usage) + broker.depth(notices)
        # mid-flight on both sides: events consumed and outbox rows relayed, neither finished
        assert at_kill < EVENTS and 0 < on_the_wire < count(app, t.outbox)

        second = serve()
        try:
            wait_for(lambda: applied() == EVENTS, 120, what="every event applied")
            wait_for(
                lambda: (
                    count(app, t.outbox, t.outbox.c.channel == "amqp", t.outbox.c.sent_at.is_(None))
                    == 0
                ),
                60,
                what="the outbox relayed",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()

    # the ledger: each declaration written off exactly once, each permit line drawn once
    assert count(app, t.usages) == EVENTS
    with app.engine.connect() as c:
        per_declaration = Counter(r for (r,) in c.execute(select(t.usages.c.declaration_id)))
        usage_ids = {r for (r,) in c.execute(select(t.usages.c.usage_id))}
        notice_ids = {
            r
            for (r,) in c.execute(
                select(t.outbox.c.message_id).where(
                    t.outbox.c.destination == topology.NOTIFICATIONS_EXCHANGE
                )
            )
        }
    assert set(per_declaration.values()) == {1} and len(per_declaration) == EVENTS
    for i in (0, EVENTS // 2, EVENTS - 1):
        balance = app.permits.balance(number(i), "NA")
        assert balance.permit.lines[0].remaining == 30
    assert all(app.clearance.stored(f"D-{i}").decision.cleared for i in range(EVENTS))

    # the wire: every usage report and notification arrived (at least once), by message id
    published = Counter(p.message_id for _, p, _ in broker.take(usage))
    notified = Counter(p.message_id for _, p, _ in broker.take(notices))
    assert set(published) == usage_ids
    assert set(notified) == notice_ids  # "decided" (held) and "released" notifications
    broker.close()
    app.close()
    print(
        f"\nkilled at {at_kill}/{EVENTS} events applied, {on_the_wire} outbox messages "
        f"published; usage reports delivered twice: "
        f"{sum(n - 1 for n in published.values())}, notifications twice: "
        f"{sum(n - 1 for n in notified.values())}"
    )
