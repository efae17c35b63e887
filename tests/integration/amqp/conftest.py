"""A real RabbitMQ for the AMQP tests, one fresh virtual host per test.

``CONNECTOR_TEST_AMQP_URL`` names the broker (as its administrator, who sets the tests up)
and ``RABBITMQ_NODENAME`` its node for ``rabbitmqctl`` (scripts/test.sh starts both). Without
them the tests skip locally and fail under CI, like the PostgreSQL ones.

Each virtual host is provisioned from the shipped ``config/rabbitmq-definitions.json``, moved
to that virtual host: the topology and the least-privilege users ``connector`` and
``permit-system`` with their permissions, exactly as an operator loads it. The connector under
test connects as ``connector`` (``amqp_url``), the test's permit system publishes as
``permit-system`` with ``user_id`` set, and the administrator (the URL's user) reads what the
connector published. Virtual hosts are created in batches with one ``rabbitmqctl
import_definitions`` (each rabbitmqctl call starts an Erlang VM, about a second) and deleted
together at the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pytest

from cites_connector.adapters.amqp import definitions as shipped
from tests.integration.amqp.amqp_kit import url_as

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
        self._bare: list[str] = []
        self._made: list[str] = []

    def ctl(self, *args: str, input: str | None = None, timeout: float = 120) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            input=input,
            text=True,
            capture_output=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done.stdout

    def url_for(self, vhost: str) -> str:
        return urlunsplit(self._parts._replace(path="/" + quote(vhost, safe="")))

    def import_definitions(self, definitions: dict) -> None:
        self.ctl("import_definitions", input=json.dumps(definitions))

    def new_vhost(self, provisioned: bool = True) -> str:
        """A fresh virtual host: loaded from the shipped definitions file, or (``provisioned``
        False) empty but for the administrator's and the two users' permissions."""
        pool = self._free if provisioned else self._bare
        if not pool:
            names = [f"cites-test-{self._session}-{len(self._made) + n}" for n in range(BATCH)]
            document = shipped.load()
            batch: dict[str, list] = {"users": document["users"], "vhosts": [], "permissions": []}
            for name in names:
                moved = shipped.for_vhost(document, name)
                sections = (
                    moved
                    if provisioned
                    else {"vhosts": moved["vhosts"], "permissions": moved["permissions"]}
                )
                for section, entries in sections.items():
                    if section != "users":
                        batch.setdefault(section, []).extend(entries)
                batch["permissions"].append(
                    {
                        "user": self.user,
                        "vhost": name,
                        "configure": ".*",
                        "write": ".*",
                        "read": ".*",
                    }
                )
            self.import_definitions(batch)
            self._made += names
            pool += names
            self._await(names[-1], provisioned)
        return pool.pop(0)

    def _await(self, vhost: str, provisioned: bool, timeout: float = 30) -> None:
        """The import is asynchronous: wait until the last virtual host takes connections from
        the connector's user and (when provisioned) holds the permits queue."""
        deadline = time.monotonic() + timeout
        url = url_as(
            self.url_for(vhost),
            shipped.CONNECTOR_USER,
            shipped.DEMO_PASSWORDS[shipped.CONNECTOR_USER],
        )
        while True:
            try:
                connection = pika.BlockingConnection(pika.URLParameters(url))
                try:
                    if provisioned:
                        connection.channel().queue_declare("cites-connector.permits", passive=True)
                finally:
                    if connection.is_open:
                        connection.close()
                return
            except pika.exceptions.AMQPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def delete_all(self) -> None:
        if self._made:
            names = ", ".join(f'<<"{n}">>' for n in self._made)
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.ctl("eval", f'[rabbit_vhost:delete(V, <<"tests">>) || V <- [{names}]].')


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
def amqp_admin_url(rabbit_node) -> str:
    """The administrator's URL on a virtual host of this test's own, provisioned from the
    shipped definitions file: names are the contract's, isolation is the virtual host's."""
    return rabbit_node.url_for(rabbit_node.new_vhost())


@pytest.fixture
def amqp_url(amqp_admin_url) -> str:
    """The connector's URL (user ``connector``) on this test's virtual host."""
    return url_as(
        amqp_admin_url, shipped.CONNECTOR_USER, shipped.DEMO_PASSWORDS[shipped.CONNECTOR_USER]
    )


@pytest.fixture
def permit_system_url(amqp_admin_url) -> str:
    """The permit system's URL (user ``permit-system``) on this test's virtual host."""
    return url_as(
        amqp_admin_url,
        shipped.PERMIT_SYSTEM_USER,
        shipped.DEMO_PASSWORDS[shipped.PERMIT_SYSTEM_USER],
    )


@pytest.fixture
def customs_simulator():
    """The project's customs simulator under waitress on a free loopback port."""
    from cites_connector.devtools.customs_simulator.app import CustomsSimulator
    from cites_connector.devtools.customs_simulator.recorder import MemoryCallRecorder
    from cites_connector.devtools.customs_simulator.server import BackgroundServer

    app = CustomsSimulator(MemoryCallRecorder(), users={"connector": "s3cret-callback"})
    server = BackgroundServer(app).start()
    yield app, server.url(app.path)
    server.stop()
