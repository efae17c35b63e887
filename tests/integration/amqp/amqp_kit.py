"""Helpers for the AMQP tests: a test-side publisher and queue reader, an app on a fresh
SQLite ledger pointed at the test's virtual host, and waiting for things to happen."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pika

from adapters.amqp import topology
from adapters.amqp.workers import build_outbox_relay, build_permit_consumer
from adapters.sql.migrate import upgrade
from connector.bootstrap import bootstrap
from connector.settings import load_settings
from tests.integration.kit import Clock

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "permits-namibia.json"
EPERMITS = ROOT / "tests" / "fixtures" / "epermit"


def sample_permits() -> list[dict[str, Any]]:
    return json.loads(EXAMPLES.read_text())


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class TestBroker:
    """The permit system's and the brokers' side, on one connection of the test's own."""

    __test__ = False

    def __init__(self, url: str):
        self.url = url
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        topology.declare_exchanges(self.channel)

    def publish(self, routing_key: str, body: bytes | dict, *, message_id: str | None = "auto",
                content_type: str | None = "application/json", headers: dict | None = None,
                exchange: str = topology.PERMITS_EXCHANGE) -> str | None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        if message_id == "auto":
            message_id = str(uuid.uuid4())
        self.channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(
            content_type=content_type, message_id=message_id, headers=headers,
            delivery_mode=pika.DeliveryMode.Persistent))
        return message_id

    def capture(self, exchange: str, pattern: str = "#") -> str:
        """A queue of the test's own bound to ``exchange``: what the connector published."""
        name = f"test.capture.{exchange}.{uuid.uuid4().hex[:6]}"
        self.channel.queue_declare(name, durable=True)
        self.channel.queue_bind(name, exchange, pattern)
        return name

    def take(self, queue: str) -> list[tuple[Any, Any, bytes]]:
        """Everything in ``queue`` now (acknowledged)."""
        found = []
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return found
            found.append((method, properties, body))

    def collect(self, queue: str, count: int, timeout: float = 15.0) -> list:
        got: list = []
        wait_for(lambda: got.extend(self.take(queue)) or len(got) >= count, timeout,
                 f"{count} messages in {queue} (have {len(got)})")
        return got

    def depth(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def close(self) -> None:
        try:
            self.connection.close()
        except pika.exceptions.AMQPError:
            pass


def make_app(tmp_path: Path, amqp_url: str, **overrides):
    """A bootstrapped app on a fresh SQLite ledger; the clock starts 2026-11-28 09:00 UTC."""
    settings = load_settings(home_country="NA", data_dir=tmp_path / "var", amqp_url=amqp_url,
                             soap_auth="off", **overrides)
    app = bootstrap(settings, clock=Clock())
    upgrade(app.engine)
    return app


@contextmanager
def running(*workers) -> Iterator[None]:
    started = []
    try:
        for worker in workers:
            worker.start()
            started.append(worker)
            probe = getattr(worker, "health_probe", None)
            if probe is not None:
                wait_for(lambda: _healthy(probe), 20, f"{worker.name} connected")
        yield
    finally:
        for worker in reversed(started):
            worker.stop(10)


def _healthy(probe) -> bool:
    try:
        probe()
        return True
    except Exception:  # noqa: BLE001
        return False


@contextmanager
def consumer_running(app, **options) -> Iterator[Any]:
    consumer = build_permit_consumer(app, **options)
    with running(consumer):
        yield consumer


@contextmanager
def relay_running(app, **options) -> Iterator[Any]:
    options.setdefault("poll_interval", 0.05)
    relay = build_outbox_relay(app, **options)
    with running(relay):
        yield relay


def stored_permit(app, number: str, country: str = "NA"):
    """The ledger's permit, or None while it is not there."""
    from connector.domain.errors import UnknownPermit

    try:
        return app.permits.balance(number, country).permit
    except UnknownPermit:
        return None
