"""``cites-connector serve`` as a process: it starts, answers, and on SIGTERM finishes the
request in flight before it exits 0 (contract sections 7 and 9)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from cites_connector.adapters.soap.clearance_client import ClearanceClient
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.settings import load_settings
from cites_connector.mappings.permit_json import parse_permit_list
from tests.samples import permits_dated, sad_dated


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


@pytest.fixture
def environment(tmp_path):
    amqp = os.environ.get("CONNECTOR_TEST_AMQP_URL")
    if not amqp:  # `serve` runs the permit consumer; /healthz is 200 only with RabbitMQ up
        if os.environ.get("CI"):
            pytest.fail("CI must provide CONNECTOR_TEST_AMQP_URL (scripts/test.sh starts it)")
        pytest.skip("no RabbitMQ: set CONNECTOR_TEST_AMQP_URL or run scripts/test.sh")
    data_dir = tmp_path / "var"
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(data_dir),
        "CONNECTOR_SOAP_PORT": str(free_port()),
        "CONNECTOR_SOAP_USERS": "customs:pw",
        "CONNECTOR_SOAP_AUTH": "on",
        "CONNECTOR_LOGGING__FORMAT": "json",
        "CONNECTOR_AMQP_URL": amqp,
    }
    env.pop("CONNECTOR_DATABASE_URL", None)
    app = build_application(load_settings(home_country="NA", data_dir=data_dir))
    upgrade(app.engine)
    for permit in parse_permit_list(permits_dated()):  # `serve` decides on the real clock
        app.permits.apply(permit)
    app.close()
    return env, data_dir / "connector.sqlite3"


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the service did not become healthy")


def test_sigterm_finishes_the_request_in_flight_then_exits_0(environment):
    env, database = environment
    url = f"http://127.0.0.1:{env['CONNECTOR_SOAP_PORT']}"
    process = subprocess.Popen(
        [*command(), "serve", "--threads", "2", "--grace", "20"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(url, process)
        client = ClearanceClient(f"{url}/soap/clearance?wsdl", "customs", "pw", timeout=30)

        # hold the ledger's write lock so that the clearance waits inside the server
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        result: dict = {}
        call = threading.Thread(
            target=lambda: result.update(client.check_declaration("SIGTERM-1", 1, sad_dated()))
        )
        call.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert process.poll() is None, "it must wait for the request in flight"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/healthz", timeout=2)  # no new connections while stopping
        blocker.execute("ROLLBACK")
        blocker.close()

        call.join(20)
        assert result["Decision"] == "CLEARED"
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stdout = process.stdout.read().decode()
    events = [json.loads(line)["event"] for line in stdout.splitlines() if line.startswith("{")]
    assert "serve.started" in events and events[-1] == "serve.stopped"
    logged = [json.loads(line) for line in stdout.splitlines() if '"soap.request"' in line]
    assert any(e["declaration_id"] == "SIGTERM-1" and e["duration_ms"] >= 500 for e in logged)


def test_serve_refuses_to_start_with_auth_on_and_no_users(environment):
    env, _ = environment
    env = {k: v for k, v in env.items() if k != "CONNECTOR_SOAP_USERS"}
    done = subprocess.run([*command(), "serve"], env=env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"CONNECTOR_SOAP_USERS" in done.stderr
