"""Helpers for the AMQP tests: a test-side permit system and queue reader, an app on a fresh
SQLite ledger pointed at the test's virtual host, and waiting for things to happen."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pika

from cites_connector.adapters.amqp import definitions as shipped
from cites_connector.adapters.amqp import topology
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.serving import build_outbox_relay, build_permit_consumer
from cites_connector.app.settings import load_settings
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


def url_as(url: str, user: str, password: str) -> str:
    """``url`` with another user's credentials."""
    parts = urlsplit(url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(
        parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
    )


def admin_url(url: str) -> str:
    """The test administrator's (CONNECTOR_TEST_AMQP_URL's user) URL on ``url``'s vhost."""
    admin = urlsplit(os.environ["CONNECTOR_TEST_AMQP_URL"])
    return url_as(url, admin.username or "guest", admin.password or "guest")


def permit_system_url(url: str) -> str:
    return url_as(
        url, shipped.PERMIT_SYSTEM_USER, shipped.DEMO_PASSWORDS[shipped.PERMIT_SYSTEM_USER]
    )


class TestBroker:
    """The permit system's and the brokers' side. Permit events go out on a connection of the
    ``permit-system`` user with ``user_id`` set (contract 3.1 (v2)); everything else (test
    queues, reading what the connector published, the dead letters) on the administrator's.
    ``url`` is any user's URL on the test's virtual host."""

    __test__ = False

    def __init__(self, url: str):
        self.url = admin_url(url)
        self.connection = pika.BlockingConnection(pika.URLParameters(self.url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        topology.declare_exchanges(self.channel)
        self.permit_system = pika.BlockingConnection(pika.URLParameters(permit_system_url(url)))
        self.publisher = self.permit_system.channel()
        self.publisher.confirm_delivery()

    def publish(
        self,
        routing_key: str,
        body: bytes | dict,
        *,
        message_id: str | None = "auto",
        content_type: str | None = "application/json",
        headers: dict | None = None,
        exchange: str = topology.PERMITS_EXCHANGE,
        as_admin: bool = False,
        user_id: str | None = "auto",
    ) -> str | None:
        """Publish as the permit system (``user_id`` its user), or ``as_admin``: a user who is
        not the permit system but may write to ``cites.permits``."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        if message_id == "auto":
            message_id = str(uuid.uuid4())
        channel = self.channel if as_admin else self.publisher
        if user_id == "auto":
            user_id = None if as_admin else shipped.PERMIT_SYSTEM_USER
        channel.basic_publish(
            exchange,
            routing_key,
            body,
            pika.BasicProperties(
                content_type=content_type,
                message_id=message_id,
                headers=headers,
                delivery_mode=pika.DeliveryMode.Persistent,
                user_id=user_id,
            ),
        )
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
        wait_for(
            lambda: got.extend(self.take(queue)) or len(got) >= count,
            timeout,
            f"{count} messages in {queue} (have {len(got)})",
        )
        return got

    def depth(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def close(self) -> None:
        for connection in (self.connection, self.permit_system):
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()


def make_app(tmp_path: Path, amqp_url: str, *, ask_permit_system: bool = False, **overrides):
    """An application built by cites_connector.app on a fresh SQLite ledger; the clock starts
    2026-11-28 09:00 UTC."""
    settings = load_settings(
        home_country="NA",
        data_dir=tmp_path / "var",
        amqp_url=amqp_url,
        soap_auth="off",
        **overrides,
    )
    app = build_application(settings, clock=Clock(), ask_permit_system=ask_permit_system)
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
                wait_for(lambda probe=probe: _healthy(probe), 20, f"{worker.name} connected")
        yield
    finally:
        for worker in reversed(started):
            worker.stop(10)


def _healthy(probe) -> bool:
    try:
        probe()
        return True
    except Exception:
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
    from cites_connector.domain.errors import UnknownPermit

    try:
        return app.permits.balance(number, country).permit
    except UnknownPermit:
        return None


def serve_command() -> list[str]:
    """``cites-connector`` as installed in this environment."""
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


def serve_env(tmp_path: Path, amqp_url: str, **settings: str) -> dict[str, str]:
    """Environment of a ``cites-connector serve`` on the test's ledger (SQLite in ``tmp_path``
    unless CONNECTOR_DATABASE_URL is given) and virtual host, SOAP on a free port."""
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": amqp_url,
        "CONNECTOR_SOAP_PORT": str(free_port()),
        "CONNECTOR_SOAP_AUTH": "off",
    }
    env.pop("CONNECTOR_DATABASE_URL", None)
    return env | settings


def start_serve(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([*serve_command(), "serve"], env=env, stdout=log, stderr=log)
