"""A real RabbitMQ for the AMQP tests, one fresh virtual host per test.

``CONNECTOR_TEST_AMQP_URL`` names the broker and ``RABBITMQ_NODENAME`` its node for
``rabbitmqctl`` (scripts/test.sh starts both). Without them the tests skip locally and fail
under CI, like the PostgreSQL ones. Virtual hosts are created in batches with one
``rabbitmqctl import_definitions`` (each rabbitmqctl call starts an Erlang VM, about a second)
and deleted together at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pytest

AMQP_URL = os.environ.get("CONNECTOR_TEST_AMQP_URL")
NODE = os.environ.get("RABBITMQ_NODENAME")
BATCH = 16


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what} (scripts/test.sh starts RabbitMQ)")
    pytest.skip(f"no RabbitMQ: set {what} or run scripts/test.sh")


class RabbitNode:
    """``rabbitmqctl`` on the test node, and virtual hosts handed out one per test."""

    def __init__(self, url: str, node: str):
        self.url = url
        self.node = node
        parts = urlsplit(url)
        self.user = parts.username or "guest"
        self._parts = parts
        self._session = uuid.uuid4().hex[:6]
        self._free: list[str] = []
        self._made: list[str] = []

    def ctl(self, *args: str, input: str | None = None, timeout: float = 120) -> str:
        done = subprocess.run(["rabbitmqctl", "-n", self.node, *args], input=input, text=True,
                              capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done.stdout

    def url_for(self, vhost: str) -> str:
        return urlunsplit(self._parts._replace(path="/" + quote(vhost, safe="")))

    def import_definitions(self, definitions: dict) -> None:
        self.ctl("import_definitions", input=json.dumps(definitions))

    def new_vhost(self) -> str:
        if not self._free:
            names = [f"cites-test-{self._session}-{len(self._made) + n}" for n in range(BATCH)]
            self.import_definitions({
                "vhosts": [{"name": n} for n in names],
                "permissions": [{"user": self.user, "vhost": n, "configure": ".*",
                                 "write": ".*", "read": ".*"} for n in names]})
            self._made += names
            self._free += names
            self._await(names[-1])
        return self._free.pop(0)

    def _await(self, vhost: str, timeout: float = 30) -> None:
        """The import is asynchronous: wait until the last virtual host takes connections."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pika.BlockingConnection(pika.URLParameters(self.url_for(vhost))).close()
                return
            except pika.exceptions.AMQPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def delete_all(self) -> None:
        if self._made:
            names = ", ".join(f'<<"{n}">>' for n in self._made)
            try:
                self.ctl("eval", f"[rabbit_vhost:delete(V, <<\"tests\">>) || V <- [{names}]].")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass


@pytest.fixture(scope="session")
def rabbit_node():
    if not AMQP_URL:
        _missing("CONNECTOR_TEST_AMQP_URL")
    if not NODE or not shutil.which("rabbitmqctl"):
        _missing("RABBITMQ_NODENAME and rabbitmqctl")
    node = RabbitNode(AMQP_URL, NODE)
    yield node
    node.delete_all()


@pytest.fixture
def amqp_url(rabbit_node) -> str:
    """A URL on a virtual host of this test's own: names are the contract's, isolation is the
    virtual host's."""
    return rabbit_node.url_for(rabbit_node.new_vhost())


@pytest.fixture
def customs_simulator():
    """The project's customs simulator under waitress on a free loopback port."""
    from adapters.customs_simulator.app import CustomsSimulator
    from adapters.customs_simulator.recorder import MemoryCallRecorder
    from adapters.customs_simulator.server import BackgroundServer

    app = CustomsSimulator(MemoryCallRecorder(), users={"connector": "s3cret-callback"})
    server = BackgroundServer(app).start()
    yield app, server.url(app.path)
    server.stop()
