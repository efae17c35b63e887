"""Benchmark: the RabbitMQ edge next to bare pika on the same broker, in the same run.

- **permit events ingested/s**: N distinct permit events (contract 3.1 JSON) waiting in
  ``cites-connector.permits``, consumed by the connector's ``PermitConsumer``: decode,
  validate, one ledger transaction each (version check, inbox row, audit, release check),
  ack after commit. Beside it, a bare pika consumer on a quorum queue with the same
  arguments, the same prefetch and one ack per message, doing nothing else.
- **usage reports relayed/s**: N ``usage.recorded`` rows in the outbox, published by the
  outbox relay with the ``amqp`` deliverer (persistent, mandatory, one publisher confirm per
  message, rows marked sent after the confirm). Beside it, a bare pika publisher sending the
  same bodies with the same properties, mandatory and one confirm per message.

A third figure puts the ingest rate in context: the same events applied by calling
``PermitService.receive_permit`` in a loop on a second fresh ledger, no broker at all. The
connector's ingest rate is bounded by that ledger rate; connector / ledger-alone shows what
the AMQP edge itself costs.

Target: at least half the bare rates. The broker is the one ``--amqp-url`` names
(default ``CONNECTOR_TEST_AMQP_URL``, else ``CONNECTOR_AMQP_URL``): use a throwaway broker,
the script purges ``cites-connector.permits`` and declares queues named ``bench.*``. The
URL's user publishes the permit events with its ``user_id`` and is the connector's only
trusted permit publisher for the run (contract 3.1 (v2)), so every event is applied.

Run: ``python bench/amqp_throughput.py [--count N] [--workers N] [--prefetch N]
[--database-url URL] [--amqp-url URL]``. It stops by itself (every wait is bounded) and
leaves nothing behind but its deleted bench queues; exit status 0 when both targets are met.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pika
from sqlalchemy import func, select

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.amqp.permit_messages import IncomingMessage, decode_event
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.engine import READ_ONLY
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.log_setup import configure_logging
from cites_connector.app.serving import build_outbox_relay, build_permit_consumer
from cites_connector.app.settings import load_settings
from cites_connector.mappings.outbox_messages import OutboxMessage

TARGET_RATIO = 0.5
ROOT = Path(__file__).resolve().parents[1]
CLOCK = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TIMEOUT = 300.0


def permit_bodies(count: int) -> list[bytes]:
    template = json.loads((ROOT / "examples" / "permits-namibia.json").read_text())[1]
    bodies = []
    for i in range(count):
        body = copy.deepcopy(template)
        body["permit_number"] = f"26NA{i:06d}"
        bodies.append(json.dumps(body).encode())
    return bodies


def usage_body(i: int) -> dict:
    return {
        "usage_id": str(uuid.uuid4()),
        "permit_number": f"26NA{i % 50:06d}",
        "issuing_country": "NA",
        "line": "A",
        "declaration_id": f"BENCH-{i}",
        "declaration_version": 1,
        "item_number": 1,
        "quantity": "1",
        "unit": None,
        "remaining_after": "99",
        "permit_used_up": False,
        "office_code": "WDHA",
        "recorded_at": "2026-11-28T10:15:02Z",
    }


def channel_for(url: str):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    return connection, connection.channel()


def user_of(url: str) -> str:
    return unquote(urlsplit(url).username or "guest")


def publish_all(url: str, exchange: str, key: str, bodies: list[bytes]) -> float:
    """Bare publisher: persistent, mandatory, one confirm per message; returns seconds."""
    connection, channel = channel_for(url)
    channel.confirm_delivery()
    started = time.perf_counter()
    for body in bodies:
        channel.basic_publish(
            exchange,
            key,
            body,
            pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=str(uuid.uuid4()),
                app_id="cites-connector",
                user_id=user_of(url),
            ),
            mandatory=True,
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def bare_consume(url: str, queue: str, count: int, prefetch: int) -> float:
    connection, channel = channel_for(url)
    channel.basic_qos(prefetch_count=prefetch)
    started = time.perf_counter()
    deliveries = channel.consume(queue, inactivity_timeout=5)
    for seen, (method, _properties, _body) in enumerate(deliveries, start=1):
        if method is None:
            raise SystemExit(f"bare consumer starved after {seen - 1} of {count}")
        channel.basic_ack(method.delivery_tag)
        if seen == count:
            break
    elapsed = time.perf_counter() - started
    channel.cancel()
    connection.close()
    return elapsed


def wait_until(check, what: str, *, quiet: bool = False, step: float = 0.01) -> float:
    """Seconds until ``check()`` holds; with ``quiet`` an exception counts as not yet."""
    started = time.perf_counter()
    while True:
        try:
            if check():
                break
        except Exception:
            if not quiet:
                raise
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(step)
    return time.perf_counter() - started


def rows(app, table, *where) -> int:
    # read as the ledger's snapshots read: on SQLite a deferred BEGIN, not the write lock the
    # consumer's transactions take (polled every 10 ms with it, the count held that lock a
    # moment each time, and a consumer's BEGIN IMMEDIATE meeting it slept in SQLite's busy
    # handler: the bench's own poll slowed what it measures)
    with app.engine.connect() as c:
        c = c.execution_options(**{READ_ONLY: True})
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("CONNECTOR_TEST_AMQP_URL", os.environ.get("CONNECTOR_AMQP_URL")),
    )
    args = parser.parse_args()
    if not args.amqp_url:
        parser.error("give --amqp-url or set CONNECTOR_TEST_AMQP_URL")
    configure_logging("WARNING", "console", sys.stderr)
    count, url = args.count, args.amqp_url

    connection, channel = channel_for(url)
    topology.declare(channel)
    channel.queue_purge(topology.PERMITS_QUEUE)
    suffix = uuid.uuid4().hex[:6]
    bare_queue, usage_queue = f"bench.bare.{suffix}", f"bench.usage.{suffix}"
    channel.queue_declare(bare_queue, durable=True, arguments=topology.queues()[0].arguments)
    channel.exchange_declare("bench.bare", "topic", durable=True)
    channel.queue_bind(bare_queue, "bench.bare", "#")
    channel.queue_declare(usage_queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(usage_queue, topology.USAGE_EXCHANGE, "usage.*")

    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"database_url": args.database_url} if args.database_url else {}
        settings = load_settings(
            home_country="NA",
            data_dir=Path(tmp),
            amqp_url=url,
            amqp_workers=args.workers,
            amqp_prefetch=args.prefetch,
            permit_publishers=(user_of(url),),
            **overrides,
        )
        app = build_application(settings, clock=lambda: CLOCK)
        upgrade(app.engine)
        bodies = permit_bodies(count)

        # -- permit events: bare consumer, then the connector's ----------------------------
        publish_all(url, "bench.bare", "permit.issued", bodies)
        bare_in = bare_consume(url, bare_queue, count, args.prefetch)
        publish_all(url, topology.PERMITS_EXCHANGE, "permit.issued", bodies)
        consumer = build_permit_consumer(app)
        consumer.start()
        # timed from its basic.consume, as the bare consumer is (its connection and topology
        # declarations are not ingestion)
        wait_until(lambda: consumer.broker_probe() is None, "the consumer", quiet=True, step=0.001)
        ours_in = wait_until(lambda: rows(app, t.inbox) >= count, "the permit events")
        consumer.stop()

        # -- the ledger alone: the same events, no broker ----------------------------------
        floor_settings = settings.model_copy(update={"data_dir": Path(tmp) / "floor"})
        floor_settings.data_dir.mkdir()
        if args.database_url:
            floor_settings = settings  # one database: the floor runs on fresh permit numbers
        floor = build_application(floor_settings, clock=lambda: CLOCK)
        upgrade(floor.engine)
        events = [
            decode_event(
                IncomingMessage("permit.issued", b.replace(b'"26NA', b'"27NA'), "application/json"),
                1 << 30,
            )
            for b in bodies
        ]
        started = time.perf_counter()
        for event in events:
            floor.permits.receive_permit(event, message_id=f"floor-{uuid.uuid4()}")
        ledger_alone = time.perf_counter() - started
        floor.close()

        # -- usage reports: bare publisher, then the relay --------------------------------
        usages = [usage_body(i) for i in range(count)]
        bare_out = publish_all(
            url, topology.USAGE_EXCHANGE, "usage.recorded", [json.dumps(u).encode() for u in usages]
        )
        with app.ledger.transaction() as session:
            session.outbox.add(
                [
                    OutboxMessage(
                        u["usage_id"],
                        "amqp",
                        topology.USAGE_EXCHANGE,
                        "usage.recorded",
                        u,
                        f"{u['permit_number']}/NA",
                    )
                    for u in usages
                ],
                CLOCK,
            )
        relay = build_outbox_relay(app, poll_interval=0.01)
        relay.start()
        ours_out = wait_until(
            lambda: rows(app, t.outbox, t.outbox.c.sent_at.is_(None)) == 0, "the relay"
        )
        relay.stop()
        app.close()

    channel.queue_delete(bare_queue)
    channel.queue_delete(usage_queue)
    channel.exchange_delete("bench.bare")
    connection.close()

    results = [
        ("permit events ingested/s", count / ours_in, count / bare_in),
        ("usage reports relayed/s", count / ours_out, count / bare_out),
    ]
    database = app.engine.dialect.name
    print(
        f"{count} messages, {args.workers} consumer thread(s), prefetch {args.prefetch}, "
        f"ledger on {database}"
    )
    print(f"{'':28} {'connector':>10} {'bare pika':>10} {'ratio':>7}")
    ok = True
    for name, ours, bare in results:
        ratio = ours / bare
        ok &= ratio >= TARGET_RATIO
        print(f"{name:28} {ours:10.0f} {bare:10.0f} {ratio:7.2f}")
    alone = count / ledger_alone
    print(
        f"permit events applied/s by the ledger alone (no broker): {alone:.0f}; "
        f"connector / ledger alone: {count / ours_in / alone:.2f}"
    )
    print(f"target: ratio >= {TARGET_RATIO}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
